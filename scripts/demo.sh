#!/usr/bin/env bash
# The main job on an embedded default: start a throwaway MariaDB, create the
# sample database (scripts/sample-db.sql), copy it with
#   rdumper --stream | rloader --stream
# into a new database, verify the copy table by table, print a summary and
# clean up. Needs nothing but this repository (MariaDB is installed from
# Debian when missing and we are root).
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"

. scripts/lib.sh
need_cargo demo

src=rdump_demo
copy=rdump_demo_copy
threads=${THREADS:-4}

echo "demo: building rdumper and rloader (release)"
cargo build --release -q -p rdumper -p rloader
bin=$repo/target/release

export RDUMP_TEST_STATE="$repo/target/test-db-demo.state"
mkdir -p "$repo/target"
scripts/test-db.sh stop >/dev/null 2>&1 || true
scripts/test-db.sh start
work=$(mktemp -d "${TMPDIR:-/tmp}/rdump-demo.XXXXXX")
cleanup() { scripts/test-db.sh stop || true; rm -rf "$work"; }
trap cleanup EXIT
eval "$(scripts/test-db.sh env)"
sql() { mariadb --no-defaults -uroot -S "$RDUMP_TEST_SOCKET" --batch --skip-column-names "$@"; }

echo "demo: creating the sample database $src"
sql < scripts/sample-db.sql

echo "demo: rdumper -B $src -G -R -E --stream | rloader --stream -B $copy  ($threads threads each)"
start=$(date +%s.%N)
"$bin/rdumper" -S "$RDUMP_TEST_SOCKET" -u root -t "$threads" -B "$src" -G -R -E --stream \
    | tee >(wc -c > "$work/bytes") \
    | "$bin/rloader" -S "$RDUMP_TEST_SOCKET" -u root -t "$threads" --stream -B "$copy"
end=$(date +%s.%N)
# the byte counter runs in a process substitution: give it a moment to finish
for _ in $(seq 1 50); do [ -s "$work/bytes" ] && break; sleep 0.1; done

echo "demo: verifying $copy against $src"
printf '%-16s %10s %10s %12s %12s  %s\n' table rows copy checksum copy result
tables=0 rows=0 bad=0
while read -r t; do
    r1=$(sql -e "SELECT COUNT(*) FROM \`$src\`.\`$t\`")
    r2=$(sql -e "SELECT COUNT(*) FROM \`$copy\`.\`$t\`" 2>/dev/null || echo missing)
    c1=$(sql -e "CHECKSUM TABLE \`$src\`.\`$t\`" | cut -f2)
    c2=$(sql -e "CHECKSUM TABLE \`$copy\`.\`$t\`" 2>/dev/null | cut -f2 || echo missing)
    ok=ok; { [ "$r1" = "$r2" ] && [ "$c1" = "$c2" ]; } || { ok=DIFFERENT; bad=$((bad + 1)); }
    printf '%-16s %10s %10s %12s %12s  %s\n' "$t" "$r1" "$r2" "$c1" "$c2" "$ok"
    tables=$((tables + 1)); rows=$((rows + r1))
done < <(sql -e "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA='$src' AND TABLE_TYPE='BASE TABLE' ORDER BY 1")

objects() {
    sql -e "SELECT CONCAT('view ', TABLE_NAME) FROM information_schema.VIEWS WHERE TABLE_SCHEMA='$1'
            UNION ALL SELECT CONCAT('trigger ', TRIGGER_NAME) FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA='$1'
            UNION ALL SELECT CONCAT(LOWER(ROUTINE_TYPE), ' ', ROUTINE_NAME) FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA='$1'
            ORDER BY 1"
}
if [ "$(objects "$src")" != "$(objects "$copy")" ]; then
    echo "demo: views, triggers or routines differ:"; diff <(objects "$src") <(objects "$copy") || true
    bad=$((bad + 1))
else
    echo "objects: $(objects "$copy" | paste -sd, -)"
fi

bytes=$(cat "$work/bytes" 2>/dev/null || echo 0)
secs=$(echo "$end - $start" | bc -l 2>/dev/null || python3 -c "print($end - $start)")
printf '\nsummary: %d tables, %d rows, %d bytes streamed, %.2f seconds\n' "$tables" "$rows" "$bytes" "$secs"
if [ "$bad" -ne 0 ]; then
    echo "demo: FAILED: $bad difference(s) between $src and $copy" >&2
    exit 1
fi
echo "demo: the copy is identical to the source"
