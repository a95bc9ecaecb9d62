#!/bin/sh
# Boot a Cortex-M image in QEMU's mps2-an385 and require both its semihosting exit status 0 and
# a line on the UART. QEMU is always stopped: by the image's own exit, or by timeout.
# usage: qemu_run.sh ELF EXPECTED_UART_TEXT [SECONDS]
elf=$1; want=$2; secs=${3:-60}
log=$(mktemp)
trap 'rm -f "$log"' EXIT
timeout --kill-after=5 "$secs" qemu-system-arm -M mps2-an385 -nographic -monitor none \
    -semihosting-config enable=on,target=native -serial stdio -kernel "$elf" >"$log" 2>&1
rc=$?
cat "$log"
if [ $rc -ne 0 ]; then
    echo "qemu_run: image exited with status $rc (124 = timed out)" >&2
    exit 1
fi
if ! grep -qF "$want" "$log"; then
    echo "qemu_run: UART output lacks \"$want\"" >&2
    exit 1
fi
