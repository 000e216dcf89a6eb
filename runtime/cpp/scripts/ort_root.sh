#!/usr/bin/env bash
# Assemble an ONNX Runtime root (include/ + lib/, the layout of the official ORT release
# archives) for building the C++ runtime, from this machine's package registries only:
#   - lib/: links to libonnxruntime.so.1.x.y of the onnxruntime pip wheel in a venv
#     (the wheel has neither the headers nor the libonnxruntime.so.1 soname link);
#   - include/: the C/C++ API headers of Debian trixie's libonnxruntime-dev, fetched with
#     `apt-get download` under a private apt configuration kept inside the build folder.
#     Its sources list is derived from the system's own apt sources (same mirror URIs,
#     suite replaced by trixie), so no host name is written anywhere in the repository.
#
# usage: ort_root.sh OUT_DIR PYTHON
#   OUT_DIR  e.g. build/cpp/onnxruntime   (the apt state goes to OUT_DIR/../apt)
#   PYTHON   a python that can `import onnxruntime`
# env: ORT_HEADERS_SUITE (default trixie), ORT_HEADERS_PACKAGE (default libonnxruntime-dev)
#
# Idempotent: the download is skipped once OUT_DIR/include/onnxruntime_cxx_api.h exists.
set -euo pipefail

out=${1:?usage: ort_root.sh OUT_DIR PYTHON}
py=${2:?usage: ort_root.sh OUT_DIR PYTHON}
suite=${ORT_HEADERS_SUITE:-trixie}
pkg=${ORT_HEADERS_PACKAGE:-libonnxruntime-dev}

mkdir -p "$out"
out=$(cd "$out" && pwd)
apt_dir=$(dirname "$out")/apt

die() { echo "ort_root.sh: $*" >&2; exit 1; }

# ---------------------------------------------------------------- lib/ from the pip wheel
capi=$("$py" -c 'import os, onnxruntime; print(os.path.join(os.path.dirname(onnxruntime.__file__), "capi"))') \
    || die "$py cannot import onnxruntime (pip install onnxruntime)"
real=$(ls "$capi"/libonnxruntime.so.1.* 2>/dev/null | sort -V | tail -n 1 || true)
[ -n "$real" ] || die "no libonnxruntime.so.1.* in $capi"
mkdir -p "$out/lib"
ln -sfn "$real" "$out/lib/$(basename "$real")"
ln -sfn "$(basename "$real")" "$out/lib/libonnxruntime.so.1"
ln -sfn libonnxruntime.so.1 "$out/lib/libonnxruntime.so"
# Loaded at run time by the CUDA / TensorRT providers, from the directory of libonnxruntime.
[ -e "$capi/libonnxruntime_providers_shared.so" ] &&
    ln -sfn "$capi/libonnxruntime_providers_shared.so" "$out/lib/libonnxruntime_providers_shared.so"
for p in "$capi"/libonnxruntime_providers_*.so; do
    [ -e "$p" ] && ln -sfn "$p" "$out/lib/$(basename "$p")"
done
lib_version=${real##*/libonnxruntime.so.}

# ---------------------------------------------------------------- include/ from Debian
if [ ! -f "$out/include/onnxruntime_cxx_api.h" ]; then
    command -v apt-get >/dev/null && command -v dpkg-deb >/dev/null ||
        die "apt-get and dpkg-deb are needed to fetch the headers; or pass ONNXRUNTIME_ROOT=<official ORT release folder>"

    # The system's apt sources: one-line (*.list) and deb822 (*.sources) formats. We keep the
    # URIs of 'deb' entries that serve a plain release suite (no -updates/-security/...).
    uris=$(
        {
            for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
                [ -f "$f" ] || continue
                awk '$1 == "deb" {
                        i = 2
                        if ($i ~ /^\[/) { while ($i !~ /\]$/) i++; i++ }
                        if ($(i + 1) !~ /-/ && $i !~ /security/) print $i
                     }' "$f"
            done
            for f in /etc/apt/sources.list.d/*.sources; do
                [ -f "$f" ] || continue
                awk 'function flush() {
                         if (types ~ /(^| )deb( |$)/ && enabled != "no" && plain && u != "")
                             { n = split(u, a, " "); for (j = 1; j <= n; j++) if (a[j] !~ /security/) print a[j] }
                         types = ""; u = ""; plain = 0; enabled = ""
                     }
                     /^[ \t]*$/ { flush(); next }
                     /^#/ { next }
                     tolower($1) == "types:"   { $1 = ""; types = $0 }
                     tolower($1) == "uris:"    { $1 = ""; u = $0 }
                     tolower($1) == "enabled:" { enabled = tolower($2) }
                     tolower($1) == "suites:"  { for (j = 2; j <= NF; j++) if ($j !~ /-/) plain = 1 }
                     END { flush() }' "$f"
            done
        } | awk '!seen[$0]++'
    )
    [ -n "$uris" ] || die "found no Debian release source in /etc/apt to derive a '$suite' source from"

    keyring=/usr/share/keyrings/debian-archive-keyring.gpg
    if [ -f "$keyring" ]; then opts="signed-by=$keyring"; else
        echo "ort_root.sh: $keyring missing: the private '$suite' list is marked trusted" >&2
        opts="trusted=yes"
    fi
    mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$apt_dir/parts" "$apt_dir/deb"
    : > "$apt_dir/sources.list"
    for u in $uris; do echo "deb [$opts] $u $suite main" >> "$apt_dir/sources.list"; done

    aptp=(-o "Dir::Etc::sourcelist=$apt_dir/sources.list" -o "Dir::Etc::sourceparts=$apt_dir/parts"
          -o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache=$apt_dir/cache"
          -o "Dir::Cache::pkgcache=" -o "Dir::Cache::srcpkgcache="
          -o "Acquire::Languages=none" -o "APT::Sandbox::User=root")
    echo "ort_root.sh: fetching $pkg headers from Debian $suite (private apt state in $apt_dir)"
    apt-get -q "${aptp[@]}" update > "$apt_dir/update.log" 2>&1 ||
        { cat "$apt_dir/update.log" >&2; die "apt-get update of the private '$suite' list failed"; }
    rm -f "$apt_dir/deb"/*.deb
    (cd "$apt_dir/deb" && apt-get -q "${aptp[@]}" download "$pkg") ||
        die "apt-get download $pkg ($suite) failed"
    deb=$(ls "$apt_dir/deb"/*.deb | head -n 1)
    rm -rf "$apt_dir/x" && dpkg-deb -x "$deb" "$apt_dir/x"
    hdr=$(find "$apt_dir/x" -name onnxruntime_cxx_api.h | head -n 1)
    [ -n "$hdr" ] || die "no onnxruntime_cxx_api.h in $deb"
    rm -rf "$out/include.tmp" && mkdir -p "$out/include.tmp"
    cp -a "$(dirname "$hdr")"/. "$out/include.tmp"/
    rm -rf "$out/include" && mv "$out/include.tmp" "$out/include"
    basename "$deb" > "$out/HEADERS_FROM"
    rm -rf "$apt_dir/lists" "$apt_dir/cache" "$apt_dir/x"  # ~20 MB of indexes; the .deb stays
fi

api_h=$(sed -n 's/^#define ORT_API_VERSION \([0-9]*\).*/\1/p' "$out/include/onnxruntime_c_api.h")
lib_minor=$(echo "$lib_version" | cut -d. -f2)
if [ -n "$api_h" ] && [ -n "$lib_minor" ] && [ "$api_h" -gt "$lib_minor" ]; then
    die "headers (ORT_API_VERSION $api_h) are newer than the library ($lib_version): the library would refuse them"
fi
echo "$lib_version" > "$out/VERSION"
echo "ort_root.sh: ONNXRUNTIME_ROOT=$out (library $lib_version, headers API $api_h from $(cat "$out/HEADERS_FROM" 2>/dev/null || echo '?'))"
