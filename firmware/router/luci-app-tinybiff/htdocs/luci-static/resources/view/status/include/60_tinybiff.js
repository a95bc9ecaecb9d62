'use strict';
'require baseclass';
'require fs';

/*
 * tinybiff's box on LuCI's Status -> Overview page: unread, new and problems per account, read
 * from the JSON file the daemon keeps, the state of Home Assistant's broker (config mqtt), and an
 * Acknowledge button that runs `tinybiff ack`.
 * Names and texts from the daemon go into text nodes only (array children of E()), never into
 * innerHTML: folder names and error details come from mail servers.
 */

var STATUS_FILE = '/var/run/tinybiff/status.json';
var TINYBIFF = '/usr/bin/tinybiff';

function cell(content, cls) {
	return E('td', { 'class': 'td' + (cls ? ' ' + cls : '') }, [ content ]);
}

function brokerOf(m) {
	return _('Home Assistant (MQTT)') + ': ' + m.state + (m.detail ? ': ' + m.detail : '');
}

function problemOf(a) {
	if (a.state === 'ok')
		return '';
	if (a.state === 'error')
		return (a.error || _('error')) + (a.detail ? ': ' + a.detail : '');
	return a.state;
}

return baseclass.extend({
	title: _('Mail'),

	load: function() {
		return fs.read(STATUS_FILE).then(function(text) {
			return JSON.parse(text);
		}).catch(function(err) {
			return { unreadable: String(err && err.message || err) };
		});
	},

	acknowledge: function(ev) {
		var button = ev.currentTarget;
		button.disabled = true;
		return fs.exec(TINYBIFF, [ 'ack' ]).then(function(res) {
			button.replaceChildren(document.createTextNode(res.code === 0 ? _('Acknowledged') : _('Acknowledge failed')));
		}).catch(function() {
			button.replaceChildren(document.createTextNode(_('Acknowledge failed')));
		});
	},

	render: function(st) {
		if (!st || st.unreadable || !Array.isArray(st.accounts))
			return E('p', { 'class': 'alert-message warning' }, [
				_('tinybiff is not running, or its status cannot be read') + (st && st.unreadable ? ' (' + st.unreadable + ')' : '')
			]);

		var rows = [
			E('tr', { 'class': 'tr table-titles' }, [
				E('th', { 'class': 'th' }, [ _('Account') ]),
				E('th', { 'class': 'th' }, [ _('Unread') ]),
				E('th', { 'class': 'th' }, [ _('New') ]),
				E('th', { 'class': 'th' }, [ _('Problem') ])
			])
		];

		st.accounts.forEach(function(a) {
			rows.push(E('tr', { 'class': 'tr', 'data-account': a.name }, [
				cell(a.name),
				cell(String(a.unseen), 'unseen'),
				cell(String(a['new']), 'new'),
				cell(problemOf(a), 'problem')
			]));
			/* IMAP accounts watching several folders: one line per folder under the account */
			if (a.folders && a.folders.length > 1)
				a.folders.forEach(function(f) {
					rows.push(E('tr', { 'class': 'tr', 'data-folder': f.name }, [
						cell('\u00a0\u00a0' + f.name),
						cell(String(f.unseen), 'unseen'),
						cell(String(f['new']), 'new'),
						cell('')
					]));
				});
		});

		return E('div', {}, [
			st.problem ? E('p', { 'class': 'alert-message warning' }, [ st.problem ]) : '',
			st.mqtt ? E('p', { 'id': 'tinybiff-mqtt', 'class': st.mqtt.state === 'error' ? 'alert-message warning' : '' },
				[ brokerOf(st.mqtt) ]) : '',
			E('table', { 'class': 'table' }, rows),
			E('div', { 'class': 'right' }, [
				E('button', {
					'class': 'btn cbi-button cbi-button-action',
					'id': 'tinybiff-ack',
					'disabled': st['new'] ? null : true,
					'click': this.acknowledge.bind(this)
				}, [ _('Acknowledge') ])
			])
		]);
	}
});
