# Sourced by the scripts here.

# need_cargo NAME: puts cargo on PATH (from rustup's env file when it is not
# there yet), or exits saying what to install.
need_cargo() {
    if ! command -v cargo >/dev/null 2>&1; then
        [ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"
    fi
    command -v cargo >/dev/null 2>&1 || { echo "$1: cargo not found; install Rust (rustup)" >&2; exit 1; }
}
