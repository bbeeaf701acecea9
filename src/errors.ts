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

export interface ConfigProblem {
  field: string;
  message: string;
  /** `file: field: message` */
  text: string;
}

/**
 * A configuration file or field is invalid: the CLI exits with status 2 and prints `file: field: what`,
 * one line per problem when a validator reports several at once (`problems`; `field` is the first).
 */
export class ConfigError extends PetrelError {
  readonly file: string | undefined;
  readonly field: string;
  readonly problems: readonly ConfigProblem[];
  constructor(field: string, message: string, file?: string, more: ReadonlyArray<{ field: string; message: string }> = []) {
    const problems = [{ field, message }, ...more].map((p) => ({ ...p, text: `${file ? `${file}: ` : ''}${p.field}: ${p.message}` }));
    super('CONFIG_INVALID', problems.map((p) => p.text).join('\n'));
    this.file = file;
    this.field = field;
    this.problems = problems;
  }
}
