#!/usr/bin/env bash
# Benchmarks rdumper and rloader side by side with mydumper/myloader and
# mariadb-dump on the same throwaway server, data and thread counts.
#
#   scripts/bench.sh [--size ROWS_PER_TABLE] [--tables N] [--threads "2 4"] [--runs R] [--out FILE]
#                    [--skip-load] [--skip-compress] [--rss-rows N] [--buffer-pool SIZE]
#
# --buffer-pool SIZE (e.g. 2G) sets the server's InnoDB buffer pool, which is
# 512M otherwise: with one larger than the data the dumps read from memory
# and measure the tools, with a smaller one they also measure the disk.
# --skip-load leaves out the load and pipe measurements, --skip-compress the
# compressed dumps (rdumper -c GZIP and -c ZSTD, mydumper -c, which is gzip).
# --rss-rows N (default 10 x --size, 0 for none) also dumps (and, without
# --skip-load, loads) one table of N rows once at the largest thread count,
# to show peak RSS at ten times the rows.
#
# Data: sysbench-shaped tables (id, k, c CHAR(120), pad CHAR(60), index on k),
# made by sysbench when installed, else by SQL. Each measurement runs R times,
# in rounds that take every measurement of a thread count in turn, each
# round starting one measurement further on;
# the median wall time is reported with rows/s, MB/s (of the uncompressed
# dump), peak RSS of the measured command, and ratios to the peers of the
# same run. Peers that are not installed are left out, and the table says so.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"

size=100000 tables=8 threads_list="2 4" runs=3 out="$repo/target/bench/results.csv" skip_load=0 skip_compress=0 rss_rows= pool=
while [ $# -gt 0 ]; do
    case "$1" in
        --size) size=$2; shift 2 ;;
        --tables) tables=$2; shift 2 ;;
        --threads) threads_list=$2; shift 2 ;;
        --runs) runs=$2; shift 2 ;;
        --out) out=$2; shift 2 ;;
        --skip-load) skip_load=1; shift ;;
        --skip-compress) skip_compress=1; shift ;;
        --rss-rows) rss_rows=$2; shift 2 ;;
        --buffer-pool) pool=$2; shift 2 ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d'; exit 0 ;;
        *) echo "bench: unknown option $1" >&2; exit 2 ;;
    esac
done

. scripts/lib.sh
need_cargo bench
echo "bench: building (release)" >&2
cargo build --release -q -p rdumper -p rloader

export RDUMP_TEST_STATE="$repo/target/test-db-bench.state"
scripts/test-db.sh stop >/dev/null 2>&1 || true
scripts/test-db.sh start
work=$(mktemp -d "${TMPDIR:-/tmp}/rdump-bench.XXXXXX")
cleanup() { scripts/test-db.sh stop >/dev/null 2>&1 || true; rm -rf "$work"; }
trap cleanup EXIT
eval "$(scripts/test-db.sh env)"
# The binaries built above, so that a build during the run changes nothing.
bin=$work/bin
mkdir -p "$bin" && cp "$repo/target/release/rdumper" "$repo/target/release/rloader" "$bin/"
sock=$RDUMP_TEST_SOCKET
sql() { mariadb --no-defaults -uroot -S "$sock" --batch --skip-column-names "$@"; }

if [ -n "$pool" ]; then
    bytes=$(numfmt --from=iec "$pool")
    sql -e "SET GLOBAL innodb_buffer_pool_size = $bytes"
    for i in $(seq 1 600); do
        status=$(sql -e "SHOW GLOBAL STATUS LIKE 'Innodb_buffer_pool_resize_status'" | cut -f2)
        case "$status" in ""|*[Cc]ompleted*) break ;; esac
        sleep 0.1
    done
fi
pool_size=$(sql -e 'SELECT @@innodb_buffer_pool_size' | numfmt --to=iec)
echo "bench: InnoDB buffer pool $pool_size" >&2

db=sbtest
echo "bench: creating $tables tables x $size rows in $db" >&2
sql -e "DROP DATABASE IF EXISTS $db; CREATE DATABASE $db"
# make_tables DB N ROWS: N sysbench tables of ROWS rows each in DB, by
# sysbench when installed, else by SQL of the same shape (c is 119
# characters and pad 56, about the sizes sysbench writes).
make_tables() {
    local d=$1 n=$2 rows=$3 i
    if command -v sysbench >/dev/null 2>&1; then
        sysbench oltp_common --db-driver=mysql --mysql-socket="$sock" --mysql-user=root --mysql-db="$d" \
            --tables="$n" --table-size="$rows" --threads=2 prepare >"$work/sysbench.log" 2>&1 \
            || { cat "$work/sysbench.log" >&2; exit 1; }
        return
    fi
    for i in $(seq 1 "$n"); do
        sql "$d" -e "CREATE TABLE sbtest$i (id INT NOT NULL AUTO_INCREMENT PRIMARY KEY, k INT NOT NULL DEFAULT 0,
            c CHAR(120) NOT NULL DEFAULT '', pad CHAR(60) NOT NULL DEFAULT '', KEY k_$i (k)) ENGINE=InnoDB;
            INSERT INTO sbtest$i (k, c, pad)
            SELECT FLOOR(RAND() * $rows), LEFT(SHA2(RAND(), 512), 119), SHA2(RAND(), 224) FROM seq_1_to_$rows;"
    done
}
make_tables $db "$tables" "$size"
total_rows=$((size * tables))
rss_rows=${rss_rows:-$((size * 10))}

# The machine, for the record.
machine="$(nproc) CPUs ($(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -1)), $(free -g | awk '/Mem:/ {print $2}') GB RAM"
machine="$machine; $( (. /etc/os-release && echo "$PRETTY_NAME") 2>/dev/null); $(sql -e 'SELECT CONCAT("MariaDB ", VERSION())')"
machine="$machine, buffer pool $pool_size"
command -v mydumper >/dev/null 2>&1 && machine="$machine; $(mydumper --version 2>&1 | head -1)"
echo "bench: machine: $machine" >&2

results="$work/results.tsv"
: > "$results"

# settle: nothing written before (an earlier run, another tool) is left for
# the next run to write back: neither the kernel's dirty pages nor the
# server's. InnoDB flushes at innodb_io_capacity pages a second, the default
# 200 for spinning disks, which would leave a load's dirty pages to the runs
# after it for minutes; for the flush it gets the rate the disk can take and
# a target of no dirty pages, then its settings back.
settle() {
    sync
    local saved i dirty
    saved=$(sql -e "SELECT CONCAT_WS(' ', @@innodb_io_capacity, @@innodb_io_capacity_max, @@innodb_max_dirty_pages_pct)")
    sql -e "SET GLOBAL innodb_io_capacity_max = 100000; SET GLOBAL innodb_io_capacity = 50000; SET GLOBAL innodb_max_dirty_pages_pct = 0"
    for i in $(seq 1 600); do
        dirty=$(sql -e "SHOW GLOBAL STATUS LIKE 'Innodb_buffer_pool_pages_dirty'" | cut -f2)
        [ "$dirty" -le 0 ] && break
        sleep 0.1
    done
    set -- $saved
    sql -e "SET GLOBAL innodb_max_dirty_pages_pct = $3; SET GLOBAL innodb_io_capacity = $1; SET GLOBAL innodb_io_capacity_max = $2"
    sync
}

# plan NAME THREADS BYTES PREP_CMD -- CMD...: adds a measurement to the
# plan; run_plan then runs PREP_CMD (untimed) and CMD.
plan_name=() plan_threads=() plan_bytes=() plan_prep=() plan_cmd=()
plan() {
    plan_name+=("$1"); plan_threads+=("$2"); plan_bytes+=("$3"); plan_prep+=("$4"); shift 5
    plan_cmd+=("$*")
}

# run_plan: runs the planned measurements in $runs rounds, each once per
# round in turn, so that the machine's slow drifts (other guests, the host)
# fall on all of them alike rather than on whichever ran last. Each round
# starts one measurement further on, so that no measurement always runs
# first (the first load after the dumps can be much slower than the next
# runs of the same command); the last round runs in plan order, so the last
# planned measurement runs last.
# Records the median seconds and the largest peak RSS of each, then empties
# the plan.
run_plan() {
    local n=${#plan_name[@]} r i k s m
    local -a secs=() rss=()
    for r in $(seq 1 "$runs"); do
        for k in $(seq 0 $((n - 1))); do
            i=$(( (k + (r - runs) % n + n) % n ))
            echo "bench: round $r/$runs: ${plan_name[$i]}, ${plan_threads[$i]} threads" >&2
            eval "${plan_prep[$i]}"
            settle
            if ! /usr/bin/time -f "%e %M" -o "$work/time" bash -c "${plan_cmd[$i]}" >"$work/out.log" 2>&1; then
                echo "bench: ${plan_name[$i]} failed:" >&2; tail -5 "$work/out.log" >&2; exit 1
            fi
            read -r s m < "$work/time"
            secs[i]="${secs[i]:-} $s"
            [ "$m" -gt "${rss[i]:-0}" ] && rss[i]=$m
        done
    done
    for i in $(seq 0 $((n - 1))); do
        local med
        med=$(printf '%s\n' ${secs[i]} | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
        printf '%s\t%s\t%s\t%s\t%s\n' "${plan_name[$i]}" "${plan_threads[$i]}" "$med" "${rss[i]}" "${plan_bytes[$i]}" >> "$results"
        printf 'bench: %-34s threads=%s  %6.2fs  rss %6.1f MB  (runs:%s)\n' "${plan_name[$i]}" "${plan_threads[$i]}" \
            "$med" "$(echo "${rss[i]}/1024" | bc -l)" "${secs[i]}" >&2
    done
    plan_name=() plan_threads=() plan_bytes=() plan_prep=() plan_cmd=()
}

have() { command -v "$1" >/dev/null 2>&1; }
conn="-S $sock -u root"
for t in $threads_list; do
    d=$work/dump-$t
    rm -rf "$d"; "$bin/rdumper" $conn -t "$t" -B $db -o "$d" >/dev/null
    bytes=$(du -sb "$d" | cut -f1)

    plan "read limit (mariadb SELECT *)" "$t" "$bytes" ":" -- \
        "seq 1 $tables | xargs -P $t -I{} sh -c 'mariadb --no-defaults -uroot -S $sock --quick -e \"SELECT * FROM $db.sbtest{}\" > /dev/null'"
    plan "rdumper dump" "$t" "$bytes" "rm -rf $work/o" -- "$bin/rdumper $conn -t $t -B $db -o $work/o"
    plan "rdumper dump --no-sync" "$t" "$bytes" "rm -rf $work/o" -- "$bin/rdumper $conn -t $t -B $db -o $work/o --no-sync"
    plan "rdumper --stream > /dev/null" "$t" "$bytes" ":" -- "$bin/rdumper $conn -t $t -B $db --stream > /dev/null"
    if have mydumper; then
        plan "mydumper dump" "$t" "$bytes" "rm -rf $work/m" -- "mydumper $conn -t $t -B $db -o $work/m"
        # rdumper's default: the dump is on disk when the command ends.
        plan "mydumper dump, then sync" "$t" "$bytes" "rm -rf $work/m" -- "mydumper $conn -t $t -B $db -o $work/m && sync"
    fi
    if [ "$skip_compress" != 1 ]; then
        plan "rdumper dump -c GZIP" "$t" "$bytes" "rm -rf $work/o" -- "$bin/rdumper $conn -t $t -B $db -o $work/o -c GZIP"
        plan "rdumper dump -c ZSTD" "$t" "$bytes" "rm -rf $work/o" -- "$bin/rdumper $conn -t $t -B $db -o $work/o -c ZSTD"
        if have mydumper; then
            plan "mydumper dump -c" "$t" "$bytes" "rm -rf $work/m" -- "mydumper $conn -t $t -B $db -o $work/m -c"
        fi
    fi
    if have mariadb-dump; then
        plan "mariadb-dump --single-transaction" "$t" "$bytes" ":" -- \
            "mariadb-dump --no-defaults $conn --single-transaction --quick $db > $work/md.sql"
    fi

    run_plan

    [ "$skip_load" = 1 ] && continue
    drop="sql -e 'DROP DATABASE IF EXISTS sbcopy'"
    "$bin/rdumper" $conn -t "$t" -B $db --stream > "$work/stream"
    plan "rloader load" "$t" "$bytes" "$drop" -- "$bin/rloader $conn -t $t -d $d -B sbcopy --optimize-keys=SKIP"
    plan "rloader load --optimize-keys" "$t" "$bytes" "$drop" -- "$bin/rloader $conn -t $t -d $d -B sbcopy --optimize-keys"
    plan "rloader --stream load" "$t" "$bytes" "$drop" -- "$bin/rloader $conn -t $t --stream -B sbcopy < $work/stream"
    if have myloader && have mydumper; then
        rm -rf "$work/msrc"; mydumper $conn -t "$t" -B $db -o "$work/msrc" >/dev/null
        plan "myloader load" "$t" "$bytes" "$drop" -- "myloader $conn -t $t -d $work/msrc -B sbcopy"
    fi
    # Last in the plan: its copy is the one checked below.
    plan "rdumper --stream | rloader --stream" "$t" "$bytes" "$drop" -- \
        "$bin/rdumper $conn -t $t -B $db --stream | $bin/rloader $conn -t $t --stream -B sbcopy"
    run_plan
    rm -rf "$work/stream" "$work/msrc"
    # the copy must equal the source
    for i in $(seq 1 "$tables"); do
        a=$(sql -e "CHECKSUM TABLE $db.sbtest$i" | cut -f2); b=$(sql -e "CHECKSUM TABLE sbcopy.sbtest$i" | cut -f2)
        [ "$a" = "$b" ] || { echo "bench: sbcopy.sbtest$i differs from the source" >&2; exit 1; }
    done
    # The next dumps find the buffer pool holding the source alone.
    sql -e "DROP DATABASE IF EXISTS sbcopy"
done

# Peak RSS at ten times the rows: one table of $rss_rows rows, measured once.
if [ "$rss_rows" -gt 0 ]; then
    big=sbbig t=${threads_list##* }
    echo "bench: creating 1 table x $rss_rows rows in $big" >&2
    sql -e "DROP DATABASE IF EXISTS $big; CREATE DATABASE $big"
    make_tables $big 1 "$rss_rows"
    rm -rf "$work/big"; "$bin/rdumper" $conn -t "$t" -B $big -o "$work/big" >/dev/null
    bytes=$(du -sb "$work/big" | cut -f1)
    saved_runs=$runs runs=1
    plan "rdumper dump, ${rss_rows} rows" "$t" "$bytes" "rm -rf $work/o" -- "$bin/rdumper $conn -t $t -B $big -o $work/o"
    plan "rdumper --stream, ${rss_rows} rows" "$t" "$bytes" ":" -- "$bin/rdumper $conn -t $t -B $big --stream > /dev/null"
    if [ "$skip_load" != 1 ]; then
        plan "rloader load, ${rss_rows} rows" "$t" "$bytes" "sql -e 'DROP DATABASE IF EXISTS sbbigcopy'" -- \
            "$bin/rloader $conn -t $t -d $work/big -B sbbigcopy"
    fi
    run_plan
    sql -e "DROP DATABASE IF EXISTS sbbigcopy"
    runs=$saved_runs
    rm -rf "$work/big" "$work/o"
    sql -e "DROP DATABASE IF EXISTS $big"
fi

mkdir -p "$(dirname "$out")"
python3 - "$results" "$out" "$total_rows" "$machine" "$rss_rows" <<'EOF'
import csv, sys
path, out, rows, machine, rss_rows = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], int(sys.argv[5])
recs = [dict(zip(["name", "threads", "secs", "rss_kb", "bytes"], l.rstrip("\n").split("\t"))) for l in open(path)]
by = {(r["name"], r["threads"]): float(r["secs"]) for r in recs}
peers = {
    "rdumper dump": ["mydumper dump", "mydumper dump, then sync", "mariadb-dump --single-transaction",
                     "read limit (mariadb SELECT *)"],
    "rdumper dump --no-sync": ["mydumper dump", "rdumper dump"],
    "rdumper --stream > /dev/null": ["rdumper dump", "rdumper dump --no-sync"],
    "rdumper dump -c GZIP": ["mydumper dump -c", "rdumper dump"],
    "rdumper dump -c ZSTD": ["mydumper dump -c", "rdumper dump"],
    "rloader load": ["myloader load"],
    "rloader load --optimize-keys": ["myloader load", "rloader load"],
    # rloader's default (--optimize-keys) in both, so stream and directory
    # differ only in where the files come from.
    "rloader --stream load": ["rloader load --optimize-keys"],
    "rdumper --stream | rloader --stream": ["myloader load", "rloader --stream load"],
}
rows_out = []
print(f"\nmachine: {machine}; {rows} rows")
print(f"{'measurement':36} {'thr':>3} {'secs':>7} {'rows/s':>10} {'MB/s':>7} {'RSS MB':>7}  ratios")
for r in recs:
    n = rss_rows if r["name"].endswith(" rows") else rows
    s = float(r["secs"]) or 0.001
    mb = int(r["bytes"]) / 1e6
    ratios = []
    for p in peers.get(r["name"], []):
        if (p, r["threads"]) in by:
            ratios.append(f"{s / (by[(p, r['threads'])] or 0.001):.2f}x {p}")
        else:
            ratios.append(f"n/a {p} (not installed)")
    line = dict(measurement=r["name"], threads=r["threads"], seconds=f"{s:.2f}", rows_per_s=f"{n / s:.0f}",
                mb_per_s=f"{mb / s:.1f}", peak_rss_mb=f"{int(r['rss_kb']) / 1024:.1f}", ratios="; ".join(ratios),
                machine=machine)
    rows_out.append(line)
    print(f"{line['measurement']:36} {line['threads']:>3} {line['seconds']:>7} {line['rows_per_s']:>10} {line['mb_per_s']:>7} {line['peak_rss_mb']:>7}  {line['ratios']}")
with open(out, "w", newline="") as f:
    w = csv.DictWriter(f, fieldnames=list(rows_out[0].keys()))
    w.writeheader()
    w.writerows(rows_out)
print(f"\nwritten to {out}")
EOF
