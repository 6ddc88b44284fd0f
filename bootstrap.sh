#!/usr/bin/env bash
# One entry point for a fresh Debian machine:
#   ./bootstrap.sh          install what is missing, build (release), start the shell on the demo market
#   ./bootstrap.sh test     install what is missing, run the test suite
#   ./bootstrap.sh bench    install what is missing, run the release benchmarks (JSON on stdout)
set -euo pipefail
cd "$(dirname "$0")"

packages=(libedit-dev libsqlite3-dev libxgboost-dev libopenblas-dev pkg-config libcurl4)

install_missing() {
    local missing=()
    for pkg in "${packages[@]}"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        echo "bootstrap: installing ${missing[*]}" >&2
        local sudo=""
        [ "$(id -u)" -eq 0 ] || sudo="sudo"
        $sudo apt-get update -qq
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
    fi
    if ! command -v swift >/dev/null 2>&1; then
        if [ -x /opt/swift/usr/bin/swift ]; then
            export PATH="/opt/swift/usr/bin:$PATH"
        else
            echo "bootstrap: Swift 6 is needed (swift not on PATH); install it from swift.org and re-run" >&2
            exit 1
        fi
    fi
}

install_missing
case "${1:-run}" in
    run)
        swift build -c release --product lgc-shell >&2
        exec .build/release/lgc-shell --demo
        ;;
    test)
        swift build --build-tests
        swift test --skip-build
        ;;
    bench)
        swift build -c release --product lgc-shell >&2
        swift build -c release --product lgc-bench >&2
        .build/release/lgc-bench "${@:2}"
        ;;
    *)
        echo "usage: ./bootstrap.sh [run|test|bench]" >&2
        exit 2
        ;;
esac
