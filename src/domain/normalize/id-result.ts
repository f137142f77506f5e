/** The outcome of normalising an identity document (resident id, credit code, …): shared by every document type. */
export type IdIssue =
  | 'EMPTY'
  | 'BAD_LENGTH'
  | 'BAD_CHARACTERS'
  | 'BAD_CHECKSUM'
  | 'BAD_BIRTH_DATE'
  | 'BIRTH_DATE_MISMATCH'
  | 'SEX_MISMATCH'
  | 'CONVERTED_FROM_15'
  | 'PLACEHOLDER'
  | 'UNKNOWN_TYPE';
export type IdResult = {
  value: string | null;
  raw: string | null;
  valid: boolean;
  issues: string[];
  birthDate?: string;
  sex?: 'M' | 'F';
};
