import { bounceLike, mentions, recipientBlocks, textFormat } from './common.js';

/**
 * Exchange Server 2007 to 2019 on premises: "Delivery has failed to these recipients or
 * distribution lists:" (or "groups"), then "Diagnostic information for administrators:",
 * "Generating server: X", and per recipient `#550 5.1.1 RESOLVER.ADR.RecipNotFound; not found ##`;
 * the same in French, Italian, Swedish, German or Spanish ("Informations de diagnostic pour les
 * administrateurs", "En-têtes de message d'origine").
 */
export const exchange2007 = textFormat({
  name: 'exchange2007',
  detect: (mail, context) =>
    bounceLike(mail, context) &&
    (mentions(mail, 'delivery has failed to these recipients or distribution lists', 'delivery has failed to these recipients or groups') ||
      (mentions(mail, 'generating server:') && (mail.headers.has('x-ms-exchange-message-is-ndr') || /diagnostic information for administrators:[\s\S]{0,400}generating server:/i.test(mail.head))) ||
      (mentions(mail, '##') && /#[45]\d\d [245]\.\d\.\d+ [^\n]{0,200}##/.test(mail.head))),
  // The returned headers (or the hops table), in the NDR's language: en, fr, it, sv, de, es, nl, pt.
  end: /^[ \t]*(?:original message headers|en-t[eê]tes de message d'origine|intestazioni originali del messaggio|ursprungshuvuden|urspr[uü]ngliche nachrichtenkopfzeilen|encabezados del mensaje original|oorspronkelijke berichtkoppen|cabe[cç]alhos originais da mensagem|message hops)[ \t]*:?/im,
  blocks: (text, exclude) => {
    const diag = /diagnostic information for administrators|informations de diagnostic pour les administrateurs|informazioni di diagnostica per gli amministratori|diagnostisk information f[oö]r administrat[oö]rer|diagnoseinformationen f[uü]r administratoren|informaci[oó]n de diagn[oó]stico para administradores|diagnostische gegevens voor beheerders|informa[cç][oõ]es de diagn[oó]stico para administradores/i.exec(text);
    const detailed = diag ? recipientBlocks(text.slice(diag.index), exclude) : [];
    if (detailed.length > 0) return detailed;
    const failed = /delivery has failed to these recipients or (?:distribution lists|groups):?/i.exec(text);
    return recipientBlocks(failed ? text.slice(failed.index) : text, exclude);
  },
});
