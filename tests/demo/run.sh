#!/bin/sh
# The demo: a shop in a temporary folder records the sample sales (one a
# repeat purchase, one referred by an earlier customer) and prints its
# numbers.  Usage: run.sh AFTERSALE SRCDIR
set -eu
aftersale=$1
srcdir=$2
dir=$(mktemp -d "${TMPDIR:-/tmp}/aftersale-demo.XXXXXX")
trap 'rm -rf "$dir"' EXIT

cp "$srcdir/tests/demo/aftersale.conf" "$dir/"
cp -r "$srcdir/conf/templates" "$dir/"
as() { "$aftersale" -c "$dir/aftersale.conf" "$@"; }

echo "== checking the configuration"
as check-config

echo
echo "== importing $srcdir/conf/sample-sales.csv"
as sale import "$srcdir/conf/sample-sales.csv"

code=$(sqlite3 "$dir/aftersale.db" \
    "SELECT referral_code FROM customers WHERE lower(email) = 'ana@example.com'")
echo
echo "== Ana's friend Eve buys with Ana's referral code $code"
as sale add --order A-1006 --email eve@example.com --name "Eve Adams" \
    --product "Ethiopia Yirgacheffe 250g" --amount 14.90 --referral "$code"

echo
echo "== the numbers"
as stats
