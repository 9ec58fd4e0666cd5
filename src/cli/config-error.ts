/** Every way the configuration can be refused. Tests assert on these codes, never on message text. */
export type ConfigErrorCode =
  | 'CONFIG_UNKNOWN_FLAG' // a command-line flag we do not know
  | 'CONFIG_MISSING_VALUE' // a flag without its value
  | 'CONFIG_INVALID' // a value of the wrong shape or out of range
  | 'CONFIG_DOTENV'; // a `.env` line that cannot be read

/** A configuration problem, with a message meant for the operator (it names the flag or variable). */
export class ConfigError extends Error {
  constructor(
    readonly code: ConfigErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'ConfigError';
  }
}
