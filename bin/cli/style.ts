// Colour for people at a terminal, none for pipes, files, NO_COLOR (https://no-color.org) or --no-color.

/** Whether to colour: a TTY, NO_COLOR unset or empty, FORCE_COLOR aside, and no --no-color. */
export function useColour(options: { isTTY: boolean; flag: boolean; env: Record<string, string | undefined> }): boolean {
  if (!options.flag) return false;
  if (options.env.NO_COLOR !== undefined && options.env.NO_COLOR !== '') return false;
  if (options.env.FORCE_COLOR !== undefined && options.env.FORCE_COLOR !== '' && options.env.FORCE_COLOR !== '0') return true;
  return options.isTTY && options.env.TERM !== 'dumb';
}

const CODES = { red: '31', green: '32', yellow: '33', bold: '1', boldRed: '1;31' } as const;
type Colour = keyof typeof CODES;

const paint = (colour: Colour, text: string): string => `\u001b[${CODES[colour]}m${text}\u001b[0m`;

/** Line starts and the colour they take: headlines, added and removed entries, refusals, warnings. */
const RULES: [RegExp, Colour][] = [
  [/^(REFUSED|!!)/, 'boldRed'],
  [/^(BUSY|PAUSED|Changes pending|Warning:)/, 'yellow'],
  [/^(Policy updated|Rolled back|No changes|Paused|Resumed)/, 'green'],
  [/^ {2}\+ /, 'green'],
  [/^ {2}- /, 'red'],
  [/^ {2}! /, 'red'],
  [/: denied by /, 'red'],
  [/: not denied/, 'green'],
];

/** The report with its significant lines coloured (or as it is, without colour). */
export function colourise(text: string, colour: boolean): string {
  if (!colour) return text;
  return text
    .split('\n')
    .map((line) => {
      const rule = RULES.find(([pattern]) => pattern.test(line));
      return rule ? paint(rule[1], line) : line;
    })
    .join('\n');
}
