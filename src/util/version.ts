// The meshd version, the one copy `meshd --version` and both daemons' status report.
// A constant rather than a runtime read of package.json (whose path differs between src/, dist/ and
// an installed package); test/util/version.test.ts keeps it equal to package.json's "version".

export const meshdVersion = '0.1.0';
