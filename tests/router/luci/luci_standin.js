/*
 * NOT LuCI. Stand-ins for the LuCI client APIs the status box uses, written from LuCI's documented
 * JavaScript API (openwrt.github.io/luci/jsapi), so that the box can run in a browser test:
 *  - E(tag, attrs, children): LuCI.dom.create. Function attribute values become event listeners,
 *    null ones are skipped. Children: an array's items are appended as nodes or as text nodes;
 *    a lone non-node value goes into innerHTML, as LuCI.dom.append documents.
 *  - _(s): the translation function (identity here).
 *  - baseclass.extend(props): a class whose prototype carries props.
 *  - fs.read(path) / fs.exec(cmd, args): LuCI.fs over rpcd, here over the test's HTTP endpoints
 *    (POST /fs/read, /fs/exec), which apply the package's rpcd ACL file.
 *  - show(url, node): what Status -> Overview does with an include: load the module (its
 *    'require x' lines name the modules passed in), instantiate it, call load() then render(),
 *    put the result under a heading with its title, and poll again.
 */
'use strict';
(function () {
	function append(node, children) {
		if (Array.isArray(children)) {
			children.forEach(function (c) {
				if (c instanceof Node) node.appendChild(c);
				else if (c !== null && c !== undefined) node.appendChild(document.createTextNode(String(c)));
			});
		} else if (children instanceof Node) {
			node.appendChild(children);
		} else if (children !== null && children !== undefined) {
			node.innerHTML += String(children);
		}
	}

	window.E = function (tag, attrs, children) {
		var node = document.createElement(tag);
		if (Array.isArray(attrs) || attrs instanceof Node || typeof attrs !== 'object') {
			children = attrs;
			attrs = null;
		}
		Object.keys(attrs || {}).forEach(function (k) {
			var v = attrs[k];
			if (v === null || v === undefined) return;
			if (typeof v === 'function') node.addEventListener(k, v);
			else node.setAttribute(k, typeof v === 'object' ? JSON.stringify(v) : v);
		});
		append(node, children);
		return node;
	};

	window._ = function (s) { return s; };

	var baseclass = {
		extend: function (props) {
			var C = function () {};
			Object.keys(props).forEach(function (k) { C.prototype[k] = props[k]; });
			return C;
		}
	};

	function rpc(what, body) {
		return fetch('/fs/' + what, { method: 'POST', body: JSON.stringify(body) }).then(function (r) {
			return r.json().then(function (j) {
				if (!r.ok) throw new Error(j.error || ('HTTP ' + r.status));
				return j;
			});
		});
	}

	var fs = {
		read: function (path) { return rpc('read', { path: path }).then(function (j) { return j.data; }); },
		exec: function (command, params) { return rpc('exec', { command: command, params: params || [] }); }
	};

	var modules = { baseclass: baseclass, fs: fs };

	window.standin = {
		modules: modules,
		calls: 0,
		show: function (url, target) {
			return fetch(url).then(function (r) { return r.text(); }).then(function (src) {
				var names = [], m, re = /^\s*'require\s+([\w.]+)';/mg;
				while ((m = re.exec(src)) !== null) names.push(m[1]);
				var factory = new Function(names.join(','), src);
				var Cls = factory.apply(null, names.map(function (n) { return modules[n]; }));
				var box = new Cls();
				var section = E('div', { 'class': 'cbi-section' }, [ E('h3', {}, [ box.title ]), E('div', { id: 'box' }) ]);
				target.appendChild(section);
				var refresh = function () {
					return Promise.resolve(box.load()).then(function (data) {
						var body = section.querySelector('#box');
						body.replaceChildren(box.render(data));
						window.standin.calls++;
					});
				};
				window.standin.refresh = refresh;
				refresh();
				setInterval(refresh, 1000);
			});
		}
	};
})();
