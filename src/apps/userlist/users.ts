/** The random users a userlist replica invents at start, and their pages. Pure: no sockets here. */
import type { Rgb } from './jpeg.ts';

/** One user, in the original's JSON field order. */
export interface User {
  id: number;
  name: string;
  gender: 'F' | 'M';
  image: string;
}

// The original uses a Faker-style generator ("Ivory Leffler", "Albertha Schumm PhD"); names are in that spirit.
const FIRST = [
  'Ivory', 'Albertha', 'Jaden', 'Marlene', 'Brock', 'Lizzie', 'Casper', 'Noemi', 'Dariana', 'Elroy',
  'Freida', 'Gunnar', 'Hattie', 'Isaias', 'Jewell', 'Kasey', 'Lavada', 'Milo', 'Nella', 'Orval',
  'Pansy', 'Quinton', 'Rosalia', 'Sigmund', 'Tressa', 'Ubaldo', 'Verna', 'Wilbert', 'Xzavier', 'Yvette',
  'Zula', 'Abel', 'Bettie', 'Cletus', 'Delphine', 'Emmett', 'Flossie', 'Garnet', 'Hobart', 'Imelda',
];
const LAST = [
  'Leffler', 'Schumm', 'Kuhlman', 'Bednar', 'Okuneva', 'Runolfsdottir', 'Hettinger', 'Stracke', 'Wunsch', 'Gleichner',
  'Marvin', 'Hickle', 'Kshlerin', 'Cummerata', 'Rempel', 'Torphy', 'Gutkowski', 'Lubowitz', 'Orn', 'Bogisich',
  'Dibbert', 'Frami', 'Jaskolski', 'Nader', 'Pouros', 'Quigley', 'Schiller', 'Tromp', 'Veum', 'Zboncak',
];
const SUFFIX = ['PhD', 'Jr.', 'Sr.', 'MD', 'DVM', 'III'];

/** Fur colours for cat1..cat10. */
export const CAT_COLOURS: readonly Rgb[] = [
  [214, 137, 60], [90, 90, 96], [236, 222, 200], [60, 48, 40], [180, 95, 40],
  [150, 150, 160], [205, 170, 110], [120, 80, 50], [230, 180, 120], [70, 70, 110],
];

function pick<T>(list: readonly T[], random: () => number): T {
  return list[Math.floor(random() * list.length)];
}

/** Invents `count` users with ids 1..count; `random` is injectable so tests can be deterministic. */
export function inventUsers(count = 10, random: () => number = Math.random): User[] {
  const users: User[] = [];
  for (let id = 1; id <= count; id++) {
    let name = `${pick(FIRST, random)} ${pick(LAST, random)}`;
    if (random() < 0.1) name += ` ${pick(SUFFIX, random)}`;
    const gender = random() < 0.5 ? 'F' : 'M';
    users.push({ id, name, gender, image: `/assets/image/cat${((id - 1) % CAT_COLOURS.length) + 1}.jpg` });
  }
  return users;
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** The HTML home page listing every user with their picture. */
export function homePage(users: readonly User[], hostname: string): string {
  const rows = users
    .map((u) => `      <tr><td>${u.id}</td><td><img src="${escapeHtml(u.image)}" alt="cat" width="64" height="64"></td><td>${escapeHtml(u.name)}</td><td>${u.gender}</td></tr>`)
    .join('\n');
  return `<!DOCTYPE html>
<html>
  <head>
    <meta charset="utf-8">
    <title>User List</title>
    <style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 12px}</style>
  </head>
  <body>
    <h1>User List</h1>
    <p>Served by <code>${escapeHtml(hostname)}</code></p>
    <table>
      <tr><th>id</th><th>image</th><th>name</th><th>gender</th></tr>
${rows}
    </table>
  </body>
</html>
`;
}

/** Spring Boot's default error body (`server.error.include-message` off, as in Boot 2.3+). */
export function springError(status: number, error: string, path: string, now = new Date()): string {
  const timestamp = now.toISOString().replace('Z', '+00:00');
  return JSON.stringify({ timestamp, status, error, path });
}

/** Spring Boot's "Whitelabel Error Page", answered instead of JSON when the client asks for HTML. */
export function whitelabelPage(status: number, error: string, now = new Date()): string {
  return `<html><body><h1>Whitelabel Error Page</h1><p>This application has no explicit mapping for /error, so you are seeing this as a fallback.</p><div id='created'>${now.toString()}</div><div>There was an unexpected error (type=${escapeHtml(error)}, status=${status}).</div></body></html>`;
}
