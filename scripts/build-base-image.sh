#!/usr/bin/env bash
# Build the local Python base image for tests from Debian packages only (no registry pulls):
#   debootstrap --variant=minbase bookworm + python3, python3-venv, python3-pip, ca-certificates,
#   passwd (useradd), stripped of apt lists/docs/man/locales, then `docker import`.
#
#   bash scripts/build-base-image.sh [IMAGE]      default IMAGE: modelctl/python-base:bookworm
#
# The mirror is the one apt uses here (/etc/apt/sources.list*); override with MODELCTL_DEBIAN_MIRROR.
# The image only gets its name after a smoke test passes. Needs root and a running Docker engine.
set -euo pipefail

IMAGE=${1:-modelctl/python-base:bookworm}
SUITE=bookworm
PACKAGES=python3,python3-venv,python3-pip,ca-certificates,passwd
LOG=/var/log/modelctl-base-image.log

say() { printf '%s\n' "$*"; }
die() { printf 'build-base-image.sh: error: %s\n' "$*" >&2; exit 1; }

# The Debian mirror apt uses for SUITE (deb822 `URIs:`/`Suites:` or one-line `deb URI SUITE ...`).
debian_mirror() {
    local suite=$1 files=()
    [[ -n ${MODELCTL_DEBIAN_MIRROR:-} && $suite == "$SUITE" ]] && { echo "$MODELCTL_DEBIAN_MIRROR"; return; }
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list; do
        [[ -f $f ]] && files+=("$f")
    done
    ((${#files[@]})) || return 0
    awk -v suite="$suite" '
        /^[[:space:]]*#/ { next }
        /^deb[[:space:]]/ {
            for (i = 2; i <= NF; i++) if ($i !~ /^\[/ && $i ~ /:\/\//) { if ($(i + 1) == suite) { print $i; exit } break }
        }
        /^URIs:/   { uri = $2 }
        /^Suites:/ { for (i = 2; i <= NF; i++) if ($i == suite && uri != "") { print uri; exit } }
        /^[[:space:]]*$/ { uri = "" }
    ' "${files[@]}"
}

slim_rootfs() {
    local root=$1
    rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/* "$root"/var/cache/debconf/*-old \
           "$root"/usr/share/man/* "$root"/usr/share/info/*
    find "$root/var/log" -type f -delete
    find "$root/usr/share/doc" -mindepth 1 -not -type d -not -name copyright -delete
    find "$root/usr/share/doc" -mindepth 1 -type d -empty -delete
    find "$root/usr/share/locale" -mindepth 1 -maxdepth 1 -not -name locale.alias -exec rm -rf {} +
    : >"$root/etc/resolv.conf"; : >"$root/etc/hostname"   # the engine provides both at run time
    # Keep later `apt-get install`s in derived images small as well (as Debian's official images do).
    cat >"$root/etc/dpkg/dpkg.cfg.d/modelctl-slim" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
EOF
    cat >"$root/etc/apt/apt.conf.d/docker-clean" <<'EOF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
EOF
}

# apt sources inside the image: the release, -updates and (when the host has one) -security.
write_image_sources() {
    local root=$1 mirror=$2 security
    security=$(debian_mirror "$SUITE-security")
    rm -f "$root/etc/apt/sources.list"
    {
        printf 'Types: deb\nURIs: %s\nSuites: %s %s-updates\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
            "$mirror" "$SUITE" "$SUITE"
        if [[ -n $security ]]; then
            printf '\nTypes: deb\nURIs: %s\nSuites: %s-security\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
                "$security" "$SUITE"
        fi
    } >"$root/etc/apt/sources.list.d/debian.sources"
}

# Trust the host's extra CAs (e.g. a TLS-intercepting egress proxy), so pip/apt inside builds work here.
trust_host_cas() {
    local root=$1 crt found=0
    for crt in /usr/local/share/ca-certificates/*.crt; do
        [[ -f $crt ]] || continue
        install -D -m 0644 "$crt" "$root/usr/local/share/ca-certificates/$(basename "$crt")"; found=1
    done
    ((found)) && chroot "$root" update-ca-certificates >/dev/null 2>&1 || true
}

# Trust the CAs this host added locally (e.g. a TLS-intercepting egress proxy's CA), so that
# `pip install` / https inside `docker build` work where the host's own https works.
# A no-op on machines without /usr/local/share/ca-certificates/*.crt; MODELCTL_BASE_IMAGE_HOST_CAS=0 disables.
add_host_cas() {
    local root=$1 certs=()
    [[ ${MODELCTL_BASE_IMAGE_HOST_CAS:-1} == 0 ]] && return 0
    shopt -s nullglob
    certs=(/usr/local/share/ca-certificates/*.crt)
    shopt -u nullglob
    ((${#certs[@]})) || return 0
    say "adding the host's local CA certificates: ${certs[*]##*/}"
    install -m 0644 "${certs[@]}" "$root/usr/local/share/ca-certificates/"
    chroot "$root" update-ca-certificates >>"$LOG" 2>&1 || die "update-ca-certificates failed in the new root"
}

main() {
    [[ $(id -u) == 0 ]] || die "needs root (debootstrap)"
    command -v debootstrap >/dev/null || die "debootstrap is missing: apt-get install debootstrap"
    docker info >/dev/null 2>&1 || die "the Docker engine does not answer; run: bash scripts/services.sh up"
    local mirror work candidate="$IMAGE-candidate"
    mirror=$(debian_mirror "$SUITE")
    [[ -n $mirror ]] || die "no Debian mirror for '$SUITE' in /etc/apt/sources.list*; set MODELCTL_DEBIAN_MIRROR"
    work=$(mktemp -d /var/tmp/modelctl-rootfs.XXXXXX)
    # shellcheck disable=SC2064
    trap "rm -rf '$work'" EXIT

    say "building $IMAGE: debootstrap $SUITE from $mirror (log: $LOG)"
    debootstrap --variant=minbase --include="$PACKAGES" "$SUITE" "$work/rootfs" "$mirror" >"$LOG" 2>&1 \
        || { tail -n 20 "$LOG" >&2; die "debootstrap failed; see $LOG"; }
    add_host_cas "$work/rootfs"
    slim_rootfs "$work/rootfs"
    write_image_sources "$work/rootfs" "$mirror"
    trust_host_cas "$work/rootfs"

    tar --numeric-owner -C "$work/rootfs" -c . | docker import \
        --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        --change 'ENV LANG=C.UTF-8' \
        --change 'CMD ["python3"]' \
        --message "debootstrap --variant=minbase $SUITE + $PACKAGES" \
        - "$candidate" >/dev/null || die "docker import failed"

    # Only a working image gets the real name.
    if ! docker run --rm --network none "$candidate" sh -c \
            'python3 -c "import venv, ssl, ensurepip" && command -v useradd >/dev/null'; then
        docker rmi -f "$candidate" >/dev/null 2>&1 || true
        die "the new image fails its smoke test (python3 with venv/ssl, useradd)"
    fi
    docker tag "$candidate" "$IMAGE"
    docker rmi "$candidate" >/dev/null
    say "built $IMAGE ($(docker image inspect -f '{{.Size}}' "$IMAGE" | numfmt --to=iec))"
}

main "$@"
