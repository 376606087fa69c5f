/**
 * Test helper: locates the `speedscope@1.25.0` npm package (its schema and its
 * built static app in `dist/release`) in Deno's npm cache, caching it with
 * `deno info npm:speedscope@1.25.0` when absent. Returns undefined offline.
 *
 * @module
 */

const SPEC = "npm:speedscope@1.25.0";

async function run(args: string[]): Promise<string | undefined> {
  try {
    const out = await new Deno.Command(Deno.execPath(), { args, stdout: "piped", stderr: "null" })
      .output();
    return out.success ? new TextDecoder().decode(out.stdout) : undefined;
  } catch {
    return undefined;
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Directory of speedscope's built app (`.../speedscope/1.25.0/dist/release`).
 * @returns The directory, or undefined when the package cannot be obtained.
 */
export async function speedscopeReleaseDir(): Promise<string | undefined> {
  const info = await run(["info", "--json"]);
  if (!info) return undefined;
  const npmCache = (JSON.parse(info) as { npmCache?: string }).npmCache;
  if (!npmCache) return undefined;
  const dir = `${npmCache}/registry.npmjs.org/speedscope/1.25.0/dist/release`;
  if (await exists(dir)) return dir;
  await run(["info", SPEC]);
  return (await exists(dir)) ? dir : undefined;
}
