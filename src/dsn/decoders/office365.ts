import { ADDRESS, bounceLike, cleanAddress, fromDomain, headerMatches, mentions, recipientBlocks, textFormat } from './common.js';

/**
 * Office 365 / Exchange Online / Outlook.com: "Your message to X couldn't be delivered.",
 * "Diagnostic information for administrators:", "Generating server: ...prod.outlook.com",
 * `Remote Server returned '550 5.1.10 RESOLVER.ADR.RecipientNotFound; ...'`, usually with an
 * RFC 3464 part; X-MS-Exchange-Message-Is-Ndr marks the report.
 */
const IN_SENTENCE = new RegExp(String.raw`your message to\s+<?(${ADDRESS})>?\s+couldn't be delivered`, 'gi');

export const office365 = textFormat({
  name: 'office365',
  detect: (mail, context) =>
    bounceLike(mail, context) &&
    (fromDomain(mail, /(^|\.)(outlook\.com|hotmail\.[a-z.]+|live\.[a-z.]+|msn\.com|onmicrosoft\.com|protection\.outlook\.com|office365\.com)$/i) ||
      mentions(mail, 'prod.outlook.com', 'protection.outlook.com', 'office 365', 'office365', 'exchange online', "remote server returned '") ||
      (headerMatches(mail, 'x-ms-exchange-message-is-ndr', /./) && mentions(mail, "couldn't be delivered", "wasn't found at", 'diagnostic information for administrators'))),
  // The returned headers (or the hops table), in the NDR's language: en, fr, it, sv, de, es, nl, pt.
  end: /^[ \t]*(?:original message headers|original message details|en-t[eê]tes de message d'origine|intestazioni originali del messaggio|ursprungshuvuden|urspr[uü]ngliche nachrichtenkopfzeilen|encabezados del mensaje original|oorspronkelijke berichtkoppen|cabe[cç]alhos originais da mensagem|message hops)[ \t]*:?/im,
  blocks: (text, exclude) => {
    const diag = /diagnostic information for administrators|diagnostische gegevens voor beheerders|informa[cç][oõ]es de diagn[oó]stico para administradores|informations de diagnostic pour les administrateurs|diagnoseinformationen f[uü]r administratoren/i.exec(text);
    const blocks = recipientBlocks(diag ? text.slice(diag.index) : text, exclude);
    if (blocks.length > 0) return blocks;
    const found = new Set<string>();
    for (const m of text.matchAll(IN_SENTENCE)) {
      const a = cleanAddress(m[1]!);
      if (a && !exclude.has(a)) found.add(a);
    }
    return [...found].map((recipient) => ({ recipient, text }));
  },
});
