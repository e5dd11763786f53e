/**
 * The mailbox is full: the wording of every kind of server, as data. A report that says so is a
 * full mailbox (`X.2.2`) even when its code says something vaguer (`5.0.0`, `5.1.0`, `5.2.0`) or
 * contradicts it (`5.1.1 Mailbox full`: a mailbox that is full exists). An accented letter
 * is matched as one or two of any letter (`bo\S{1,2}te`: boite, boîte, and boîte read as latin1,
 * as delivery-status parts are). Every pattern is a list of literal alternatives with bounded
 * gaps: linear time.
 */
export const MAILBOX_FULL = new RegExp(
  [
    // English
    String.raw`\b(?:mailbox|inbox|mail ?box|mailfolder|mail folder|account|disk|storage|user|recipient)\b[^.\n]{0,40}?\b(?:is |was )?(?:full|over ?quota|over the quota|out of (?:space|storage))\b`,
    String.raw`\bquota (?:has been |was )?(?:exceeded|exceed|full|reached)|\bover quota\b|\bexceed(?:ed|s) (?:his|her|their|the|its|your|my) (?:storage|quota|mailbox|disk)`,
    String.raw`\bexceeded storage allocation|\bstorage allocation exceeded|\binsufficient (?:disk )?(?:space|storage)\b|\bnot enough (?:disk |storage )?space|\bno space left`,
    String.raw`\bmailbox (?:size|storage) limit|\bmailbox (?:size )?exceeds\b|\bmailbox (?:quota|capacity) (?:usage )?(?:exceeded|reached)|\b(?:quota|storage) (?:usage )?limit (?:exceeded|reached)`,
    // French, German, Spanish, Italian, Portuguese, Dutch, Polish, Nordic
    String.raw`\bbo\S{1,2}te\b[^.\n]{0,40}?\bpleine|\bquota (?:de messagerie )?d\S{1,2}pass\S{1,2}|\bespace (?:de stockage |disque )?insuffisant`,
    String.raw`\bpostfach\b[^.\n]{0,40}?\b(?:voll|\S{1,2}berf\S{1,2}llt)\b|\bspeicherplatz (?:ist )?(?:voll|ersch\S{1,2}pft|\S{1,2}berschritten)|\bquota \S{1,2}berschritten|\bpostfachgr\S{1,3}e \S{1,2}berschritten`,
    String.raw`\bbuz\S{1,2}n\b[^.\n]{0,40}?\b(?:lleno|completo)|\bcuota (?:de buz\S{1,2}n )?(?:excedida|superada)|\bcasella\b[^.\n]{0,40}?\bpiena|\bquota (?:superata|esaurita)`,
    String.raw`\bcaixa\b[^.\n]{0,40}?\bcheia|\bcota excedida|\b(?:mailbox|postvak|postbus) (?:is )?vol\b|\bquotum overschreden|\bskrzynka (?:pocztowa )?(?:jest )?pe\S{1,2}na|\b(?:postl\S{1,2}da|brevl\S{1,2}da|postkasse)[a-z]{0,3} (?:er |är |ar )?full`,
    // Japanese, Chinese, Russian
    String.raw`容量(?:超過|オーバー|不足)|メールボックスがいっぱい|(?:邮箱|信箱|郵箱)(?:已满|已滿|空间不足|容量不足)|ящик (?:переполнен|заполнен)`,
  ].join('|'),
  'i',
);

/** Codes that quota wording overrides: generic ones, and "no such user" written with it. */
const GENERIC = /^[45]\.(?:0\.0|1\.0|2\.0|3\.0)$/;
const CONTRADICTED = /^[45]\.1\.1$/;

/**
 * The code to record when the report says the mailbox is full: `X.2.2` in the class of `code`,
 * or null to keep `code`. A generic code is overridden by the wording anywhere in the
 * recipient's text; a contradictory one only by its own diagnostic (or its text when it has
 * no diagnostic), so that another recipient's paragraph cannot change it.
 */
export function mailboxFullCode(code: string, diagnostic: string | null | undefined, text: string | null | undefined): string | null {
  const generic = GENERIC.test(code);
  if (!generic && !CONTRADICTED.test(code)) return null;
  const where = generic || !diagnostic ? `${diagnostic ?? ''}\n${text ?? ''}` : diagnostic;
  return MAILBOX_FULL.test(where.slice(0, 64 * 1024)) ? `${code[0]}.2.2` : null;
}
