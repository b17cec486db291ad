// Names that come from a file (globals, zip entries, storage keys) end up in messages a person reads in a
// terminal or an editor: control characters are escaped and length is capped so a name cannot forge or flood one.
const MAX_SHOWN = 200;

export function printable(name: string): string {
  const short = name.length > MAX_SHOWN ? `${name.slice(0, MAX_SHOWN)}...` : name;
  return /^[\x20-\x7e]*$/.test(short) ? short : JSON.stringify(short).slice(1, -1);
}
