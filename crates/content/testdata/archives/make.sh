#!/usr/bin/env bash
# Recreates the archive test files of crates/content (rar.rs, sevenz.rs).
#
# RAR: Debian has no RAR writer (`rar` is non-free and not packaged;
# unrar-free only extracts), so the RAR files are the ones rarfile (ISC
# licence) ships in its source distribution, made with RARLAB's rar; each
# has a `.exp` dump there that the unit tests' expected values come from.
#   pip download --no-binary :all: --no-deps rarfile==4.5
# 7z: made here with Debian's 7zip (7zz 26.02):
#   apt-get install -y 7zip
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
W=$(mktemp -d); trap 'rm -rf "$W"' EXIT
cd "$W"
pip download -q --no-binary :all: --no-deps rarfile==4.5 -d sd
tar xzf sd/rarfile-4.5.tar.gz
for f in rar3-subdirs.rar rar5-subdirs.rar rar5-psw.rar rar5-hpsw.rar rar3-comment-psw.rar rar3-comment-hpsw.rar; do
  cp "rarfile-4.5/test/files/$f" "$HERE/"
done
# 7z: a text file and a (fake, 64-byte) PE named like a picture, an
# executable by name, and an empty directory; fixed times so the bytes
# repeat.
mkdir -p in/docs in/empty
printf 'meeting at ten\n' > in/docs/notes.txt
{ printf 'MZ\x90\x00'; head -c 60 /dev/zero; } > in/holiday.jpg
printf '@echo off\r\necho hi\r\n' > in/run.bat
touch -d '2026-01-02 03:04:05' in in/* in/docs/*
rm -f "$HERE"/*.7z
(cd in && 7zz a -bd -bso0 "$HERE/plain.7z" docs empty holiday.jpg run.bat)
(cd in && 7zz a -bd -bso0 -mhc=off "$HERE/plain-hdr.7z" docs empty holiday.jpg run.bat)
(cd in && 7zz a -bd -bso0 -pinfected "$HERE/psw.7z" docs holiday.jpg)
(cd in && 7zz a -bd -bso0 -pinfected -mhe=on "$HERE/hpsw.7z" docs holiday.jpg)
ls -l "$HERE"
