/**
 * The REST API's error body: Artifactory's `{"errors":[{"status","message"}]}`, to which Trove
 * adds a stable `code` and, for a request field that breaks a rule, the `field`. Artifactory
 * clients read `status` and `message`; the console places messages by `field` and reads `code`.
 */

/** One error entry. */
export interface RestError {
  /** The HTTP status, as in the status line. */
  readonly status: number
  /** What went wrong, for a person; it names the field when there is one. */
  readonly message: string
  /** The stable error code: `NOT_FOUND`, `BAD_REQUEST`, `NAME_INVALID`, `CONFLICT`, `DENIED`, … (docs/rest-api.md). */
  readonly code: string
  /** The JSON path of the request field at fault (`url`, `repositories[1]`, `handleSnapshots`); absent when no field is. */
  readonly field?: string
}

/** An error answer: one entry, or one per field when several fields of a request body are wrong. */
export interface RestErrorBody {
  readonly errors: readonly RestError[]
}
