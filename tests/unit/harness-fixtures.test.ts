// The decisions behind the upstream fixtures (tests/harness/fixtures.ts): which tag a
// tree gets, what is cut from Debian's .gitignore, which deb-src entries are added.

import { describe, expect, it } from "vitest";
import {
  debSrcStanzas,
  kernelTag,
  parseDeb822Sources,
  parseKernelMakefile,
  parseOneLineSources,
  qemuTag,
  stripDebianGitignore,
} from "../harness/fixtures.ts";

const makefile = (v: string, p: string, s: string, e = "") =>
  `# SPDX-License-Identifier: GPL-2.0\nVERSION = ${v}\nPATCHLEVEL = ${p}\nSUBLEVEL = ${s}\nEXTRAVERSION =${e ? ` ${e}` : ""}\nNAME = Curry Ramen\n\n# *DOCUMENTATION*\n`;

describe("kernel tags are what kernel.org would tag", () => {
  it.each([
    [makefile("6", "1", "192"), "v6.1.192", "6.1.192"],
    [makefile("6", "1", "0"), "v6.1", "6.1"],
    [makefile("6", "2", "0", "-rc3"), "v6.2-rc3", "6.2-rc3"],
    [makefile("5", "15", "7"), "v5.15.7", "5.15.7"],
  ])("%#: %j -> %s", (text, tag, version) => {
    expect(kernelTag(parseKernelMakefile(text))).toEqual({ tag, version });
  });

  it("reads only the top-level assignments, not later uses of the names", () => {
    const text = `${makefile("6", "1", "192")}KERNELVERSION = $(VERSION)$(if $(PATCHLEVEL),.$(PATCHLEVEL))\n`;
    expect(parseKernelMakefile(text)).toEqual({ version: 6, patchlevel: 1, sublevel: 192, extraversion: "" });
  });

  it.each([["no version at all\n"], ["VERSION = six\nPATCHLEVEL = 1\nSUBLEVEL = 0\n"], ["VERSION = 6\nSUBLEVEL = 1\n"]])("refuses a file that is not a kernel Makefile: %j", (text) => {
    expect(() => parseKernelMakefile(text)).toThrow(/not a kernel Makefile/);
  });
});

describe("QEMU tags follow the VERSION file", () => {
  it.each([
    ["7.2.22\n", "v7.2.22"],
    ["8.0.0", "v8.0.0"],
  ])("%j -> %s", (file, tag) => {
    expect(qemuTag(file).tag).toBe(tag);
  });
  it.each([[""], ["7.2"], ["garbage\n"]])("refuses %j", (file) => {
    expect(() => qemuTag(file)).toThrow(/not a QEMU VERSION file/);
  });
});

describe("the Debian section of linux-source's .gitignore is cut", () => {
  const upstream = "# Normal rules\n.*\n*.o\n\n# Rust analyzer configuration\n/rust-project.json\n";
  const debian = "\n#\n# Debian packaging: ignore everything at the top level, since it isn't\n# included in our repository\n#\n/*\n!/debian/\n";

  it("leaves upstream's rules and nothing after them", () => {
    const cut = stripDebianGitignore(upstream + debian);
    expect(cut).toBe(upstream);
    expect(cut).not.toMatch(/^\/\*$/m);
  });
  it("leaves a .gitignore without a Debian section as it is", () => {
    expect(stripDebianGitignore(upstream)).toBe(upstream);
  });
});

describe("deb-src entries mirror the release's deb entries", () => {
  const deb822 = [
    "Types: deb",
    "# http://snapshot.debian.org/archive/debian/20250520T000000Z",
    "URIs: http://deb.debian.org/debian",
    "Suites: bookworm bookworm-updates",
    "Components: main",
    "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg",
    "",
    "Types: deb",
    "URIs: http://deb.debian.org/debian-security",
    "Suites: bookworm-security",
    "Components: main",
    "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg",
    "",
  ].join("\n");
  const thirdParty = "Types: deb\nURIs: https://deb.nodesource.com/node_20.x\nSuites: nodistro\nComponents: main\nArchitectures: amd64\n";

  it("adds one deb-src stanza per deb stanza, same mirror, suites, components and key", () => {
    const out = debSrcStanzas(parseDeb822Sources(deb822), "bookworm");
    const stanzas = parseDeb822Sources(out);
    expect(stanzas.map((s) => [s.types, s.uris, s.suites, s.components])).toEqual([
      [["deb-src"], ["http://deb.debian.org/debian"], ["bookworm", "bookworm-updates"], ["main"]],
      [["deb-src"], ["http://deb.debian.org/debian-security"], ["bookworm-security"], ["main"]],
    ]);
    expect(out).toContain("Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg");
  });

  it("leaves third-party repositories (which publish no sources) alone", () => {
    const out = debSrcStanzas(parseDeb822Sources(`${deb822}\n${thirdParty}`), "bookworm");
    expect(out).not.toContain("nodesource");
    expect(parseDeb822Sources(out)).toHaveLength(2);
  });

  it("adds nothing when the release already has a deb-src entry", () => {
    const withSrc = `${deb822}\nTypes: deb deb-src\nURIs: http://deb.debian.org/debian\nSuites: bookworm\nComponents: main\n`;
    expect(debSrcStanzas(parseDeb822Sources(withSrc), "bookworm")).toBe("");
  });

  it("ignores disabled stanzas", () => {
    const disabled = "Types: deb\nURIs: http://deb.debian.org/debian\nSuites: bookworm\nComponents: main\nEnabled: no\n";
    expect(debSrcStanzas(parseDeb822Sources(disabled), "bookworm")).toBe("");
  });

  it("reads one-line sources.list entries with options", () => {
    const list = "# comment\ndeb [arch=amd64 signed-by=/usr/share/keyrings/k.gpg] http://ftp.de.debian.org/debian bookworm main contrib\ndeb http://other.example/repo stable main\n";
    const out = debSrcStanzas(parseOneLineSources(list), "bookworm");
    const [s] = parseDeb822Sources(out);
    expect(s).toMatchObject({ types: ["deb-src"], uris: ["http://ftp.de.debian.org/debian"], suites: ["bookworm"], components: ["main", "contrib"] });
    expect(out).toContain("Signed-By: /usr/share/keyrings/k.gpg");
    expect(out).not.toContain("Architectures");
    expect(out).not.toContain("other.example");
  });

  it("a one-line deb-src entry for the release counts as present", () => {
    expect(debSrcStanzas(parseOneLineSources("deb-src http://deb.debian.org/debian bookworm main\ndeb http://deb.debian.org/debian bookworm main\n"), "bookworm")).toBe("");
  });
});
