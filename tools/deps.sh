#!/usr/bin/env bash
# tools/deps.sh — install Petrel's host packages and fetch its third-party sources.
#
# Called by `make deps` as:  tools/deps.sh [--build-dir build]
# See docs/deps.md. Idempotent: it checks first and acts only on what is missing.
set -euo pipefail

# Debian binary packages needed to build and test Petrel (one list, checked with dpkg-query).
PACKAGES=(
    qemu-system-x86 nasm grub-pc-bin grub-common xorriso mtools
    tshark telnet iperf python3-pytest python3-pexpect libcmocka-dev
    iproute2 dpkg-dev netcat-openbsd clang libclang-rt-14-dev
    gcc make binutils ca-certificates
    bsdextrautils   # /usr/bin/hexdump
    dnsmasq-base procps iputils-ping busybox shellcheck
)

# Third-party sources, one per entry:
#   <Debian source package>:<link under third_party/>:<file that proves the tree>:<fallback>
# <fallback> (optional) is a binary package whose headers are unpacked instead when the
# mirror does not serve the source tarballs (Zydis 4.0 needs only Zycore's headers).
SOURCES=(
    "lwip:lwip:src/core/tcp.c:"
    "zydis:zydis:include/Zydis/Zydis.h:"
    "zycore-c:zycore:include/Zycore/Zycore.h:libzycore-dev"
)

LOCK_TIMEOUT=300   # seconds to wait for another apt/dpkg to finish

PROG=${0##*/}
BUILD_DIR=build
DO_SOURCES=1
CHECK_ONLY=0

say()  { printf 'deps: %s\n' "$*"; }
warn() { printf 'deps: warning: %s\n' "$*" >&2; }
die()  { printf 'deps: error: %s\n' "$*" >&2; exit 1; }

usage() {
    cat <<EOF
Usage: $PROG [--build-dir DIR] [--no-sources] [--check] [--help]

Installs the Debian packages Petrel needs to build and test, then fetches the
third-party sources (lwIP, Zydis, Zycore) with 'apt-get source' into
DIR/third_party/ using a private apt configuration under DIR/apt/
(nothing under /etc/apt or /var/lib/apt is changed by the source fetch).

  --build-dir DIR  build directory (default: build)
  --no-sources     install/check packages only, do not fetch sources
  --check          report what is missing and change nothing;
                   exit 1 if anything is missing
  -h, --help       show this help

Packages: ${PACKAGES[*]}
Sources:  $(for s in "${SOURCES[@]}"; do printf '%s ' "${s%%:*}"; done)(Debian source packages)
EOF
}

while [ $# -gt 0 ]; do
    case $1 in
        --build-dir)   [ $# -ge 2 ] || die "--build-dir needs an argument"; BUILD_DIR=$2; shift 2 ;;
        --build-dir=*) BUILD_DIR=${1#*=}; shift ;;
        --no-sources)  DO_SOURCES=0; shift ;;
        --check)       CHECK_ONLY=1; shift ;;
        -h|--help)     usage; exit 0 ;;
        *)             die "unknown argument: $1 (see $PROG --help)" ;;
    esac
done
[ -n "$BUILD_DIR" ] || die "--build-dir must not be empty"
RERUN="$0 --build-dir $BUILD_DIR"; [ $DO_SOURCES -eq 1 ] || RERUN="$RERUN --no-sources"
case $BUILD_DIR in /*) ;; *) BUILD_DIR=$PWD/$BUILD_DIR ;; esac
TP=$BUILD_DIR/third_party
APTDIR=$BUILD_DIR/apt

missing_any=0

# ---------------------------------------------------------------------------
# 1. Debian binary packages
# ---------------------------------------------------------------------------

# Prints the names of PACKAGES that are not fully installed (one dpkg-query call).
missing_packages() {
    local installed
    installed=$(dpkg-query -W -f='${Package} ${Status}\n' "${PACKAGES[@]}" 2>/dev/null \
                | awk '$NF == "installed" && $(NF-1) == "ok" { print $1 }' || true)
    local p
    for p in "${PACKAGES[@]}"; do
        grep -qxF -- "$p" <<<"$installed" || printf '%s\n' "$p"
    done
}

SUDO=()
need_root() {
    [ "$(id -u)" -eq 0 ] && return 0
    if command -v sudo >/dev/null 2>&1; then
        if [ -t 0 ]; then SUDO=(sudo); else SUDO=(sudo -n); fi
        say "not root: using ${SUDO[*]}"
        return 0
    fi
    die "installing packages needs root, and sudo is not available.
  Run as root:  apt-get install -y --no-install-recommends $*
  then re-run:  $RERUN"
}

apt_as_root() {
    "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get \
        -o DPkg::Lock::Timeout="$LOCK_TIMEOUT" "$@"
}

# apt-get update of the system lists; retries while another apt holds the lists lock.
system_update() {
    local waited=0 out rc
    while :; do
        say "apt-get update (system package lists)"
        rc=0
        out=$(apt_as_root -q update 2>&1) || rc=$?
        printf '%s\n' "$out" | sed 's/^/deps:   | /'
        [ $rc -eq 0 ] && return 0
        if grep -q 'Could not get lock' <<<"$out" && [ $waited -lt $LOCK_TIMEOUT ]; then
            say "apt lists are locked by another process; waiting (${waited}s/${LOCK_TIMEOUT}s)"
            sleep 10; waited=$((waited + 10)); continue
        fi
        return $rc
    done
}

# True if every package given has an install candidate in the current lists.
have_candidates() {
    local p cand
    for p in "$@"; do
        cand=$(apt-cache policy -- "$p" 2>/dev/null | awk '/Candidate:/ { print $2 }')
        [ -n "$cand" ] && [ "$cand" != "(none)" ] || return 1
    done
}

install_packages() {
    local missing=("$@")
    need_root "${missing[@]}"
    command -v apt-get >/dev/null 2>&1 || die "apt-get not found: this script supports Debian 12 (bookworm) hosts only"
    local updated=0
    if ! have_candidates "${missing[@]}"; then
        say "package lists are empty or stale (no candidate for some of: ${missing[*]})"
        system_update || die "apt-get update failed; check the apt sources in /etc/apt and network access to the Debian mirror"
        updated=1
        have_candidates "${missing[@]}" || die "still no install candidate after apt-get update for some of: ${missing[*]}
  (check 'apt-cache policy <name>'; the package may not exist in this Debian release)"
    fi
    say "installing: ${missing[*]}"
    if apt_as_root install -y --no-install-recommends -- "${missing[@]}"; then
        return 0
    fi
    if [ $updated -eq 0 ]; then
        say "install failed; refreshing package lists once and retrying"
        system_update || die "apt-get update failed; check /etc/apt sources and network access to the Debian mirror"
        apt_as_root install -y --no-install-recommends -- "${missing[@]}" && return 0
    fi
    die "apt-get install failed for: ${missing[*]}
  Fix the error above (dpkg lock held longer than ${LOCK_TIMEOUT}s? mirror unreachable? broken dpkg state: try 'dpkg --configure -a'),
  then re-run: $RERUN"
}

mapfile -t MISSING_PKGS < <(missing_packages)
if [ ${#MISSING_PKGS[@]} -eq 0 ]; then
    say "packages: all ${#PACKAGES[@]} installed"
elif [ $CHECK_ONLY -eq 1 ]; then
    say "packages missing: ${MISSING_PKGS[*]}"
    missing_any=1
else
    install_packages "${MISSING_PKGS[@]}"
    mapfile -t STILL < <(missing_packages)
    [ ${#STILL[@]} -eq 0 ] || die "still not installed after apt-get: ${STILL[*]}"
    say "packages: all ${#PACKAGES[@]} installed"
fi

# ---------------------------------------------------------------------------
# 2. Third-party sources (apt-get source with a private apt configuration)
# ---------------------------------------------------------------------------

# Splits a SOURCES entry into S_PKG S_LINK S_PROOF S_FALLBACK.
parse_source() {
    IFS=: read -r S_PKG S_LINK S_PROOF S_FALLBACK <<<"$1"
}

# Prints the lwIP version "X.Y.Z" from a tree's init.h.
lwip_version() {
    # (lwIP's files have CRLF line endings.)
    awk '{ sub(/\r$/, "") }
         /#define[ \t]+LWIP_VERSION_(MAJOR|MINOR|REVISION)[ \t]/ { v[$2] = $3 }
         END { printf "%s.%s.%s\n", v["LWIP_VERSION_MAJOR"], v["LWIP_VERSION_MINOR"], v["LWIP_VERSION_REVISION"] }' \
        "$1/src/include/lwip/init.h"
}

# Prints where a tree came from: "<package> <version> <how>" (.deps-origin written at fetch time).
tree_origin() {
    if [ -f "$1/.deps-origin" ]; then
        cat "$1/.deps-origin"
    elif [ -f "$1/debian/changelog" ]; then
        sed -n '1s/^\([^ ]*\) (\([^)]*\)).*/\1 \2 source/p' "$1/debian/changelog"
    else
        echo "unknown origin"
    fi
}

# True if third_party/<link> points at an existing tree containing <proof>.
source_present() {
    local link=$1 proof=$2
    [ -L "$TP/$link" ] && [ -d "$TP/$link/" ] && [ -f "$TP/$link/$proof" ]
}

# Writes the private deb-src configuration derived from the machine's own apt sources.
make_private_apt() {
    local sl sp
    # Where this machine keeps its sources (normally /etc/apt/sources.list{,.d/}).
    eval "$(apt-config shell sl Dir::Etc::SourceList/f sp Dir::Etc::SourceParts/d)"
    mkdir -p "$APTDIR/etc/sources.list.d" "$APTDIR/etc/preferences.d" \
             "$APTDIR/state/lists/partial" "$APTDIR/cache/archives/partial"
    rm -f "$APTDIR/etc/sources.list.d/"*

    # One-line format: "deb [options] URI suite [component...]" -> "deb-src ...".
    local one_line=()
    [ -f "$sl" ] && one_line+=("$sl")
    local f
    for f in "$sp"*.list; do [ -f "$f" ] && one_line+=("$f"); done
    {
        echo "# Generated by tools/deps.sh from the machine's apt sources; do not edit."
        if [ ${#one_line[@]} -gt 0 ]; then
            awk '{ sub(/#.*/, "") }
                 $1 == "deb" { $1 = "deb-src"; print }' "${one_line[@]}"
        fi
    } >"$APTDIR/etc/sources.list"

    # deb822 format: stanzas whose Types include "deb" -> Types: deb-src,
    # keeping URIs/Suites/Components/Signed-By/Trusted (with continuation lines).
    local d822=()
    for f in "$sp"*.sources; do [ -f "$f" ] && d822+=("$f"); done
    {
        echo "# Generated by tools/deps.sh from the machine's apt sources; do not edit."
        if [ ${#d822[@]} -gt 0 ]; then
            awk '
            function flush(   i) {
                if (n > 0 && isdeb && enabled) {
                    print "Types: deb-src"
                    for (i = 1; i <= n; i++) print keep[i]
                    print ""
                }
                n = 0; isdeb = 0; enabled = 1; cur = ""
            }
            BEGIN { n = 0; isdeb = 0; enabled = 1 }
            FNR == 1 { flush() }
            /^[ \t]*#/ { next }
            /^[ \t]*$/ { flush(); next }
            /^[ \t]/ { if (cur != "") keep[++n] = $0; next }   # continuation line
            {
                field = $0; sub(/:.*/, "", field); f = tolower(field)
                val = $0; sub(/^[^:]*:[ \t]*/, "", val)
                cur = ""
                if (f == "types") {
                    m = split(val, t, /[ \t]+/)
                    for (i = 1; i <= m; i++) if (t[i] == "deb") isdeb = 1
                } else if (f == "enabled") {
                    if (tolower(val) == "no") enabled = 0
                } else if (f == "uris" || f == "suites" || f == "components" || f == "signed-by" || f == "trusted") {
                    keep[++n] = $0; cur = f
                }
            }
            END { flush() }' "${d822[@]}"
        fi
    } >"$APTDIR/etc/sources.list.d/derived.sources"

    if ! grep -q '^deb-src' "$APTDIR/etc/sources.list" && ! grep -q '^Types: deb-src' "$APTDIR/etc/sources.list.d/derived.sources"; then
        die "found no enabled 'deb' entries in $sl or $sp*.list/*.sources to derive deb-src entries from"
    fi

    # Private apt configuration (read after the system's, so these win).
    cat >"$APTDIR/apt.conf" <<EOF
// Generated by tools/deps.sh: private apt state for 'apt-get source'. Do not edit.
Dir::Etc::SourceList "$APTDIR/etc/sources.list";
Dir::Etc::SourceParts "$APTDIR/etc/sources.list.d/";
Dir::State "$APTDIR/state/";
Dir::State::Lists "$APTDIR/state/lists/";
Dir::State::extended_states "$APTDIR/state/extended_states";
Dir::Cache "$APTDIR/cache/";
Dir::Cache::Archives "$APTDIR/cache/archives/";
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
// The private dirs belong to the invoking user; downloads are still verified
// against the signed Release files.
APT::Sandbox::User "root";
// Do not run the system's update hooks for this private update.
#clear APT::Update::Pre-Invoke;
#clear APT::Update::Post-Invoke;
#clear APT::Update::Post-Invoke-Success;
EOF
}

papt_get() { apt-get -c "$APTDIR/apt.conf" "$@"; }

# Unpacks the headers of binary package <deb> into third_party/<dir>/include
# (fallback when the mirror does not serve a source package's tarballs).
unpack_headers() {
    local deb=$1 dir=$2 tmp
    rm -rf "${TP:?}/$dir"
    tmp=$TP/$dir/.deb
    mkdir -p "$tmp"
    dpkg-deb -x "$deb" "$tmp"
    [ -d "$tmp/usr/include" ] || die "$deb has no usr/include"
    mv "$tmp/usr/include" "$TP/$dir/include"
    find "$tmp/usr/share/doc" -name copyright -exec cp {} "$TP/$dir/COPYRIGHT.debian" \; 2>/dev/null || true
    rm -rf "$tmp"
}

fetch_one() {
    local srcpkg=$1 link=$2 proof=$3 fallback=$4
    local dl=$TP/.download log=$APTDIR/source-$srcpkg.log
    mkdir -p "$dl"
    : >"$log"
    # Ask apt which version it will fetch (the .dsc name in --print-uris).
    local dsc
    dsc=$(cd "$dl" && papt_get -q --print-uris --download-only source -- "$srcpkg" 2>>"$log" \
          | awk -v p="${srcpkg}_" 'substr($1, 1, 1) == "\047" && index($2, p) == 1 && $2 ~ /\.dsc$/ { print $2; exit }') || true
    [ -n "$dsc" ] || die "no Debian source package '$srcpkg' found in the derived deb-src lists (log: $log)
  check: apt-cache -c $APTDIR/apt.conf showsrc $srcpkg"
    local ver=${dsc#"${srcpkg}_"}; ver=${ver%.dsc}
    local upver=${ver#*:}; upver=${upver%-*}
    local dir
    say "fetching source $srcpkg $ver (apt-get source --download-only)"
    if (cd "$dl" && papt_get -q --download-only source -- "$srcpkg=$ver") >>"$log" 2>&1; then
        dir="${srcpkg}-${upver}"
        # dpkg-source refuses to unpack over an existing directory.
        rm -rf "${TP:?}/$dir"
        say "unpacking $dsc into third_party/$dir (dpkg-source -x)"
        if ! dpkg-source --no-copy -x "$dl/$dsc" "$TP/$dir" >>"$log" 2>&1; then
            tail -n 20 "$log" | sed 's/^/deps:   | /' >&2
            die "dpkg-source -x $dsc failed (log: $log); is dpkg-dev installed?"
        fi
        echo "$srcpkg $ver source" >"$TP/$dir/.deps-origin"
    elif [ -n "$fallback" ]; then
        grep -E '^(E|Err):' "$log" | sed 's/^/deps:   | /' >&2 || true
        warn "apt-get source $srcpkg $ver failed (log: $log)"
        say "falling back to the headers of binary package $fallback $ver (apt-get download)"
        if ! (cd "$dl" && apt-get -q -o APT::Sandbox::User=root download -- "$fallback=$ver") >>"$log" 2>&1; then
            tail -n 20 "$log" | sed 's/^/deps:   | /' >&2
            die "neither 'apt-get source $srcpkg=$ver' nor 'apt-get download $fallback=$ver' worked (log: $log);
  check network access to the Debian mirror"
        fi
        local deb
        deb=$(find "$dl" -maxdepth 1 -name "${fallback}_${ver#*:}_*.deb" -print -quit)
        [ -n "$deb" ] || die "apt-get download $fallback=$ver left no .deb in $dl"
        dir="${srcpkg}-${upver}-headers"
        say "unpacking headers of ${deb##*/} into third_party/$dir/include (dpkg-deb -x)"
        unpack_headers "$deb" "$dir"
        echo "$fallback $ver binary-package-headers-only (apt-get source $srcpkg failed)" >"$TP/$dir/.deps-origin"
    else
        tail -n 20 "$log" | sed 's/^/deps:   | /' >&2
        die "apt-get source $srcpkg failed (log: $log); check network access to the Debian mirror"
    fi
    ln -sfn "$dir" "$TP/$link"
    [ -f "$TP/$link/$proof" ] || die "third_party/$link/$proof missing after fetching $srcpkg $ver"
}

# Sets LWIP_VER from third_party/lwip and dies unless it is 2.1.x.
check_lwip() {
    LWIP_VER=$(lwip_version "$TP/lwip") || die "cannot read lwIP version from $TP/lwip/src/include/lwip/init.h"
    case $LWIP_VER in
        2.1.[0-9]*) ;;
        *) die "lwIP in $TP/lwip is '$LWIP_VER'; Petrel needs 2.1.x (delete $TP/lwip* and re-run, or check the Debian lwip version)" ;;
    esac
}

report_sources() {
    local s link origin tgt
    for s in "${SOURCES[@]}"; do
        parse_source "$s"; link=$S_LINK
        tgt=$(readlink "$TP/$link")
        origin=$(tree_origin "$TP/$link")
        if [ "$link" = lwip ]; then
            check_lwip
            say "source $link -> third_party/$tgt (Debian $origin; lwIP $LWIP_VER)"
        else
            say "source $link -> third_party/$tgt (Debian $origin)"
        fi
        case $origin in
            *headers-only*) warn "third_party/$link has headers only; delete it and re-run to retry the source fetch" ;;
        esac
    done
}

if [ $DO_SOURCES -eq 1 ]; then
    todo=()
    for s in "${SOURCES[@]}"; do
        parse_source "$s"
        source_present "$S_LINK" "$S_PROOF" || todo+=("$s")
    done
    if [ ${#todo[@]} -eq 0 ]; then
        report_sources
    elif [ $CHECK_ONLY -eq 1 ]; then
        for s in "${todo[@]}"; do
            parse_source "$s"
            say "source missing: $TP/$S_LINK (Debian source package $S_PKG)"
        done
        missing_any=1
    else
        command -v dpkg-source >/dev/null 2>&1 || die "dpkg-source not found; install dpkg-dev (run without --no-sources as root)"
        mkdir -p "$TP"
        make_private_apt
        say "apt-get update with private deb-src lists ($APTDIR)"
        if ! papt_get -q update >"$APTDIR/update.log" 2>&1 \
           || grep -q '^\(E\|W\): Failed to fetch' "$APTDIR/update.log"; then
            tail -n 20 "$APTDIR/update.log" | sed 's/^/deps:   | /' >&2
            die "apt-get update of the private deb-src lists failed (log: $APTDIR/update.log).
  The source fetch needs the Debian mirror from this machine's apt sources to be reachable.
  Packages are done; re-run later, or use --no-sources to skip the sources."
        fi
        for s in "${todo[@]}"; do
            parse_source "$s"
            fetch_one "$S_PKG" "$S_LINK" "$S_PROOF" "$S_FALLBACK"
        done
        report_sources
    fi
fi

if [ $missing_any -ne 0 ]; then
    say "something is missing; run: $RERUN"
    exit 1
fi
if [ $CHECK_ONLY -eq 1 ]; then say "check: nothing missing"; else say "done"; fi
