import { NO_CODE_FOUND, parseStatusCode } from './status-code.js';
import { STATUS_TABLE, type BounceType, type StatusEntry } from './status-table.js';

/** How the table entry for a code was found. */
export type TableMatch = 'exact' | 'subject' | 'class';

export interface Classification {
  /** The code as recorded (normalised), e.g. `5.1.1`, or `9.1.1` when none was found. */
  readonly code: string;
  readonly type: BounceType;
  readonly description: string;
  readonly descriptionFr: string;
  readonly match: TableMatch;
}

const GENERIC: Record<4 | 5, { en: string; fr: string }> = {
  4: { en: 'Temporary failure', fr: 'Échec temporaire' },
  5: { en: 'Permanent failure', fr: 'Échec permanent' },
};

/**
 * Classifies a status code with the seed's table: the code itself; else its subject's `X.Y.0`
 * entry; else its class (4 = soft, 5 = hard). A missing or unreadable code is 9.1.1 (hard).
 *
 * The seed lists one class-4 code (4.2.2). For another 4.Y.Z the type is soft (class) and the
 * description is the one the table gives the same condition in class 5 (RFC 3463 gives subject
 * and detail the same meaning in both classes).
 */
export function classifyStatus(codeText: string | null | undefined): Classification {
  const code = parseStatusCode(codeText);
  if (!code || code.cls === 2) return fromEntry(STATUS_TABLE.get(NO_CODE_FOUND)!, NO_CODE_FOUND, 'exact');
  const text = `${code.cls}.${code.subject}.${code.detail}`;

  const exact = STATUS_TABLE.get(text);
  if (exact) return fromEntry(exact, text, 'exact');

  const subjectEntry = STATUS_TABLE.get(`${code.cls}.${code.subject}.0`);
  if (subjectEntry) return fromEntry(subjectEntry, text, 'subject');

  const type: BounceType = code.cls === 4 ? 'soft' : 'hard';
  const sameCondition =
    code.subject === 0 && code.detail === 0
      ? undefined
      : (STATUS_TABLE.get(`5.${code.subject}.${code.detail}`) ?? STATUS_TABLE.get(`5.${code.subject}.0`));
  const words = sameCondition && sameCondition.code !== '5.0.0' ? sameCondition : GENERIC[code.cls];
  return { code: text, type, description: words.en, descriptionFr: words.fr, match: 'class' };
}

function fromEntry(entry: StatusEntry, code: string, match: TableMatch): Classification {
  return { code, type: entry.type, description: entry.en, descriptionFr: entry.fr, match };
}
