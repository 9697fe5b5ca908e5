/** How a user runs this project's tasks, as the messages they may copy say it: a reader may have
 * only Node.js and npm, so never a bare `deno`. */
export const TASK = `npx --yes deno@${Deno.version.deno} task`;
