"""systemd units for the two long-running processes, shipped so the README can
point at them: `dispatch-tui-engine.service` (User=dispatchd) and
`dispatch-tui-web.service` (User=dispatchweb)."""
