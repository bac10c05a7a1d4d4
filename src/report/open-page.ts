import { spawn } from 'node:child_process';
import { pathToFileURL } from 'node:url';

/** The command that opens a file in the desktop's default browser on this platform. */
export function openerFor(platform: NodeJS.Platform): { command: string; args: (url: string) => string[] } {
  if (platform === 'darwin') return { command: 'open', args: (url) => [url] };
  if (platform === 'win32') return { command: 'cmd', args: (url) => ['/c', 'start', '""', url] };
  return { command: 'xdg-open', args: (url) => [url] };
}

/**
 * Hand a page to the default browser (xdg-open, open or start), detached so the command can
 * exit. Resolves with null once the opener started, or with why it could not (no opener installed,
 * no desktop): the page is written either way, so this is never an error.
 */
export function openPage(file: string): Promise<string | null> {
  const { command, args } = openerFor(process.platform);
  return new Promise((resolve) => {
    let child;
    try {
      child = spawn(command, args(pathToFileURL(file).href), { detached: true, stdio: 'ignore' });
    } catch (err) {
      resolve(`${command}: ${(err as Error).message}`);
      return;
    }
    child.once('error', (err) => resolve(`${command}: ${err.message}`));
    child.once('spawn', () => {
      child.unref();
      resolve(null);
    });
  });
}
