// The docs hold together as a reader meets them: the README stays a front page, every relative
// link and anchor leads somewhere, every command names the pinned tools, and the README's endpoint
// table is the app's route list. No database, no network.
import assert from "node:assert/strict";
import { ENDPOINTS } from "../../supabase/functions/api-gateway/routes/index.ts";
import { SUPABASE_CLI_VERSION } from "../../local/supabase_cli.ts";
import {
  codeBlocks,
  docFiles,
  headingAnchors,
  linkTargets,
  REPO,
  resolveLink,
} from "./markdown.ts";

const MAX_README_LINES = 200;

const read = (path: string) => Deno.readTextFile(`${REPO}${path}`);
const files = await docFiles();
const texts = new Map(await Promise.all(files.map(async (f) => [f, await read(f)] as const)));

/** The Deno release CI runs (`npx --yes deno@X task test` in .ci/run): the one readers use. */
const PINNED_DENO = /npx --yes deno@([0-9][\w.-]*) task test/.exec(await read(".ci/run"))?.[1];

Deno.test("docs: the README is a front page of at most 200 lines", async () => {
  const lines = (await read("README.md")).replace(/\n$/, "").split("\n").length;
  assert.ok(
    lines <= MAX_README_LINES,
    `README.md has ${lines} lines (at most ${MAX_README_LINES}): move detail to docs/`,
  );
});

Deno.test("docs: every relative link resolves to a file, and every anchor to a heading", async () => {
  const broken: string[] = [];
  const anchorsOf = new Map<string, Set<string>>();
  for (const [file, md] of texts) {
    for (const { text: target, line } of linkTargets(md)) {
      const link = resolveLink(file, target);
      if (!link) continue;
      const where = `${file}:${line}: ${target}`;
      const stat = await Deno.stat(`${REPO}${link.path}`).catch(() => null);
      if (!stat) {
        broken.push(`${where} (no ${link.path})`);
        continue;
      }
      if (link.anchor === null) continue;
      if (!link.path.endsWith(".md")) {
        broken.push(`${where} (an anchor into a file that is not Markdown)`);
        continue;
      }
      if (!anchorsOf.has(link.path)) {
        anchorsOf.set(link.path, headingAnchors(texts.get(link.path) ?? await read(link.path)));
      }
      if (!anchorsOf.get(link.path)!.has(link.anchor)) {
        broken.push(`${where} (no heading #${link.anchor} in ${link.path})`);
      }
    }
  }
  assert.deepEqual(broken, [], "broken links");
});

Deno.test("docs: commands name the pinned Deno and Supabase CLI, no shell line starts a bare `deno`", () => {
  assert.ok(PINNED_DENO, ".ci/run names no `npx --yes deno@X task test`");
  const wrong: string[] = [];
  for (const [file, md] of texts) {
    md.split("\n").forEach((text, i) => {
      for (const [mention, version] of text.matchAll(/\bdeno@([0-9][\w.-]*)/g)) {
        if (version !== PINNED_DENO) {
          wrong.push(`${file}:${i + 1}: ${mention} (CI runs ${PINNED_DENO})`);
        }
      }
      for (const [mention, version] of text.matchAll(/\bsupabase@([0-9][\w.-]*)/g)) {
        if (version !== SUPABASE_CLI_VERSION) {
          wrong.push(`${file}:${i + 1}: ${mention} (pinned ${SUPABASE_CLI_VERSION})`);
        }
      }
    });
    // What a reader copies: the lines of shell blocks (a `$ ` prompt and leading VAR=value
    // assignments aside). Inline code may name a task (`deno task dev`); a line to paste must
    // start Deno through npx, pinned, which needs nothing installed but Node.js.
    const shellLines = codeBlocks(md)
      .filter((b) => ["", "sh", "bash", "shell", "console"].includes(b.lang))
      .flatMap((b) => b.lines);
    for (const { text, line } of shellLines) {
      const command = text.trim().replace(/^\$\s+/, "").replace(
        /^(\w+=('[^']*'|"[^"]*"|\S*)\s+)+/,
        "",
      );
      if (/^deno\s/.test(command)) {
        wrong.push(`${file}:${line}: \`${text.trim()}\`: write npx --yes deno@${PINNED_DENO} ...`);
      }
    }
  }
  assert.deepEqual(wrong, [], "commands that do not run the pinned tools");
});

Deno.test("docs: the README's endpoint table is the app's route list, with each permission", async () => {
  const readme = await read("README.md");
  const start = readme.indexOf("\n## Endpoints\n");
  assert.ok(start >= 0, "README.md has no `## Endpoints` section");
  const section = readme.slice(start, readme.indexOf("\n## ", start + 1));
  const listed = new Map<string, string>();
  for (
    const [, route, permission] of section.matchAll(
      /^\|\s*`([A-Z]+ \/v1\/\S+)`\s*\|\s*([^|]*?)\s*\|/gm,
    )
  ) {
    listed.set(route, permission);
  }
  const expected = new Map<string, string>([
    ...ENDPOINTS.map((e) =>
      [`${e.method.toUpperCase()} ${e.path}`, `\`${e.permission}\``] as const
    ),
    ["GET /v1/openapi.json", "none"],
  ]);
  const missing = [...expected.keys()].filter((r) => !listed.has(r));
  const unknown = [...listed.keys()].filter((r) => !expected.has(r));
  assert.deepEqual(missing, [], "routes in routes/index.ts the README does not list");
  assert.deepEqual(unknown, [], "routes the README lists that the app does not serve");
  for (const [route, permission] of expected) {
    assert.equal(listed.get(route), permission, `${route}: the README's permission`);
  }
});
