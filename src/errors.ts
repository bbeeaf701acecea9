/**
 * Petrel's error classes. Every error we throw carries a stable string `code` (BGP_ERR_*, NL_ERR_*,
 * K8S_ERR_*, CONFIG_INVALID, ...) so that callers, logs and tests match on the code, never on the text.
 * We never throw strings.
 */
export class PetrelError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** A configuration file or field is invalid: the CLI exits with status 2 and prints `file: field: what`. */
export class ConfigError extends PetrelError {
  readonly file: string | undefined;
  readonly field: string;
  constructor(field: string, message: string, file?: string) {
    super('CONFIG_INVALID', `${file ? `${file}: ` : ''}${field}: ${message}`);
    this.file = file;
    this.field = field;
  }
}
