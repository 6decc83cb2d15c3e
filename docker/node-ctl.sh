#!/bin/sh
# Controls the member process of the system under test inside its container.
#   node-ctl boot CMD...    the container's command: set up netfilter, start the member,
#                           then idle (so a killed member leaves the container up)
#   node-ctl start CMD...   start CMD (e.g. `python3 -m raftnode --id n1 ...`, `etcd ...`)
#                           in the background, with libfaketime preloaded and reading the
#                           control file (RAFTQUAKE_FAKETIME=0: not preloaded, for a
#                           system whose clock libfaketime cannot move)
#   node-ctl kill           SIGKILL the node and every process it started (PostgreSQL's
#                           backends, a Galera state transfer) and wait until all are gone
#   node-ctl running        exit 0 if the node process is alive
#   node-ctl pause          SIGSTOP the node and every process it started (Jepsen's pause:
#                           they freeze, the container does not, so faults still apply)
#   node-ctl resume         SIGCONT them
#   node-ctl stopped        exit 0 if the node process is stopped by a pause
#   node-ctl clock SPEC     write SPEC (e.g. "+4.5s", "-2s", "+0") to the control file
#   node-ctl delay Q MS     (re)start netdelay: packets sent to NFQUEUE Q are held MS ms
#                           (packet delay where the kernel has no netem); returns once
#                           the queue is bound, so the harness can then route to it
#   node-ctl undelay        stop netdelay (it accepts what it holds) and wait for it
# The member's output goes to /data/node.log (the volume), appended across restarts.
set -eu
PIDFILE=/run/raftquake/node.pid
MARKFILE=/run/raftquake/node.mark
DELAY_PID=/run/raftquake/netdelay.pid
DELAY_READY=/run/raftquake/netdelay.ready
CONTROL=/run/raftquake/faketime
LIBFAKETIME=/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1

alive() {
    # A killed process is a zombie until init reaps it: count it as gone.
    state=$(ps -o stat= -p "$1" 2>/dev/null || true)
    [ -n "$state" ] && [ "${state#Z}" = "$state" ]
}

running() {
    [ -f "$PIDFILE" ] && alive "$(cat "$PIDFILE")"
}

member() {
    # The pids of the member's live processes: the node process and its descendants (by
    # parent pid), and any process whose environment carries this start's mark
    # (RAFTQUAKE_MEMBER: a daemon a state transfer starts may leave the tree). A process
    # group or session would not do: PostgreSQL puts each backend in a session of its own
    # (and overwrites their environment with its process titles), and the backends of a
    # SIGKILLed postmaster, left running, keep its shared memory and stop the restarted
    # server from starting. Zombies count as gone.
    root=$(cat "$PIDFILE" 2>/dev/null || echo none)
    mark="RAFTQUAKE_MEMBER=$(cat "$MARKFILE" 2>/dev/null || echo none)"
    {
        ps -eo pid=,ppid=,stat= | awk -v root="$root" '
            $3 !~ /^Z/ { parent[$1] = $2 }
            END { for (p in parent) { q = p; n = 0
                      while (q != root && (q in parent) && n++ < 64) q = parent[q]
                      if (q == root) print p } }'
        grep -lzxF "$mark" /proc/[0-9]*/environ 2>/dev/null \
            | sed -n 's|^/proc/\([0-9]*\)/environ$|\1|p'
    } | sort -un
}

signal_member() {
    # Every process of the member, again until none is left to signal: one forked while the
    # list was read is found on the next round. STOP: until all are stopped; KILL: all
    # stopped first (a stopped process forks nothing), then killed until all are gone;
    # CONT: once. At most 10 s of rounds: a process stuck in the kernel (D) takes its
    # signal when it leaves it.
    if [ "$1" = KILL ]; then signal_member STOP; fi
    rounds=0
    while pids=$(member); [ -n "$pids" ] && [ $rounds -lt 1000 ]; do
        rounds=$((rounds + 1))
        todo=""
        for p in $pids; do
            if [ "$1" = STOP ] && [ "$(ps -o stat= -p "$p" 2>/dev/null | cut -c1)" = T ]; then continue; fi
            todo="$todo $p"
        done
        [ -z "$todo" ] && return 0
        kill "-$1" $todo 2>/dev/null || true
        [ "$1" = CONT ] && return 0
        sleep 0.01
    done
}

netfilter() {
    # iptables-legacy when the kernel has it (no nft ruleset to clash with the
    # host's), iptables-nft otherwise; both drop traffic on this project's machines.
    # rq-iptables names the one chosen, for the harness. The last rule is a no-op
    # that needs conntrack, so connections are tracked from their first packet and
    # their direction (ORIGINAL/REPLY) is known when a one-way block arrives.
    if iptables-legacy -L INPUT -n >/dev/null 2>&1; then ipt=iptables-legacy
    elif iptables-nft -L INPUT -n >/dev/null 2>&1; then ipt=iptables-nft
    else echo "node-ctl: neither iptables-legacy nor iptables-nft works" >&2; return 1
    fi
    # A wrapper, not a symlink: iptables is a multi-call binary that reads argv[0].
    printf '#!/bin/sh\nexec %s "$@"\n' "$ipt" > /usr/local/sbin/rq-iptables
    chmod +x /usr/local/sbin/rq-iptables
    rq-iptables -N RAFTQUAKE && rq-iptables -A INPUT -j RAFTQUAKE &&
        rq-iptables -N RAFTQUAKE_PKT && rq-iptables -A INPUT -j RAFTQUAKE_PKT &&
        rq-iptables -A OUTPUT -m conntrack --ctstate INVALID -j RETURN
}

case "${1:-}" in
boot)
    shift
    netfilter
    "$0" start "$@"
    exec sleep infinity
    ;;
start)
    shift
    if running; then echo "node-ctl: already running (pid $(cat "$PIDFILE"))" >&2; exit 0; fi
    [ -f "$CONTROL" ] || echo "+0" > "$CONTROL"
    echo "=== node-ctl start $(date -u +%Y-%m-%dT%H:%M:%SZ): $*" >> /data/node.log
    # FAKETIME_NO_CACHE=1: re-read the control file on every clock call, so a bump
    # takes effect at once in the running process (no restart). /run/raftquake is a
    # tmpfs (the harness mounts one), where that read costs ~2 us a call instead of
    # ~12 us on the image's overlay filesystem; runs without clock faults still pass
    # RAFTQUAKE_FAKETIME_NO_CACHE=0 (libfaketime then re-reads the file every 10 s).
    # RAFTQUAKE_MEMBER marks this start's processes, children included (see member()).
    preload=$LIBFAKETIME
    [ "${RAFTQUAKE_FAKETIME:-1}" = 0 ] && preload=
    mark="$(date +%s%N)-$$"
    echo "$mark" > "$MARKFILE"
    RAFTQUAKE_MEMBER=$mark LD_PRELOAD=$preload FAKETIME_TIMESTAMP_FILE=$CONTROL \
        FAKETIME_NO_CACHE=${RAFTQUAKE_FAKETIME_NO_CACHE:-1} \
        nohup "$@" >> /data/node.log 2>&1 < /dev/null &
    echo $! > "$PIDFILE"
    ;;
kill)
    pid=$(cat "$PIDFILE" 2>/dev/null || true)
    if running || [ -n "$(member)" ]; then
        signal_member KILL
        if [ -n "$pid" ]; then while alive "$pid"; do sleep 0.02; done; fi
        echo "=== node-ctl SIGKILL $(date -u +%Y-%m-%dT%H:%M:%SZ)" >> /data/node.log
    fi
    rm -f "$PIDFILE"
    ;;
pause)
    if running; then signal_member STOP; fi
    ;;
resume)
    if running; then signal_member CONT; fi
    ;;
stopped)
    running && [ "$(ps -o stat= -p "$(cat "$PIDFILE")" | cut -c1)" = "T" ]
    ;;
running)
    running
    ;;
clock)
    # A file of this call's own, renamed over the control file: two calls at once (a
    # strobe's last flip and the heal after it) each replace it whole, neither fails.
    printf '%s\n' "${2:?usage: node-ctl clock SPEC}" > "$CONTROL.$$"
    mv "$CONTROL.$$" "$CONTROL"
    ;;
delay)
    queue=${2:?usage: node-ctl delay QUEUE MS}
    ms=${3:?usage: node-ctl delay QUEUE MS}
    "$0" undelay
    nohup python3 /usr/local/bin/netdelay.py --queue "$queue" --delay-ms "$ms" --ready "$DELAY_READY" \
        >> /run/raftquake/netdelay.log 2>&1 < /dev/null &
    echo $! > "$DELAY_PID"
    i=0
    while [ ! -f "$DELAY_READY" ]; do
        if ! alive "$(cat "$DELAY_PID")" || [ $i -ge 250 ]; then
            echo "node-ctl: netdelay did not bind its queue:" >&2
            tail -n 5 /run/raftquake/netdelay.log >&2
            exit 1
        fi
        i=$((i + 1)); sleep 0.02
    done
    ;;
undelay)
    if [ -f "$DELAY_PID" ]; then
        pid=$(cat "$DELAY_PID")
        kill -TERM "$pid" 2>/dev/null || true
        while alive "$pid"; do sleep 0.02; done
    fi
    rm -f "$DELAY_PID" "$DELAY_READY"
    ;;
*)
    echo "usage: node-ctl boot CMD... | start CMD... | kill | running | pause | resume | stopped | clock SPEC | delay QUEUE MS | undelay" >&2
    exit 2
    ;;
esac
