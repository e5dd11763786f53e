/**
 * The table of supported bounce codes, as data.
 *
 * Source: the product's help article on bounces ("Codes de rebond", shared/seed), which lists
 * every supported code with its type (Dur = hard, Doux = soft) and a French description. The
 * English descriptions are ours, written to say the same thing (they follow RFC 3463's wording
 * where the seed follows it too). `fr` is the seed's text, kept verbatim.
 */

export type BounceType = 'hard' | 'soft';

export interface StatusEntry {
  readonly code: string;
  readonly type: BounceType;
  readonly en: string;
  readonly fr: string;
}

const rows: ReadonlyArray<readonly [string, BounceType, string, string]> = [
  ['4.2.2', 'soft', 'Mailbox over quota', "Le compte e-mail dépasse le quota"],
  ['5.0.0', 'hard', 'Address does not exist', "L'adresse n'existe pas"],
  ['5.1.0', 'hard', 'Other address status', "Autre statut d'adresse"],
  ['5.1.1', 'hard', 'Bad destination mailbox address', "Mauvaise adresse de destinaire"],
  ['5.1.2', 'hard', 'Bad destination system address', "Mauvaise adresse du système de destination"],
  ['5.1.3', 'hard', 'Bad destination mailbox address syntax', "Erreur de syntaxe dans l'adresse du destinaire"],
  ['5.1.4', 'hard', 'Destination mailbox address ambiguous', "e-mail de destination ambiguë"],
  ['5.1.5', 'hard', 'Destination mailbox address valid', "e-mail de destination valide"],
  ['5.1.6', 'hard', 'Mailbox has moved', "Boîte d'e-mail déplacée"],
  ['5.1.7', 'hard', "Bad sender's mailbox address syntax", "Mauvaise syntaxe de l'adresse de la boîte aux lettres de l'expéditeur"],
  ['5.1.8', 'hard', "Bad sender's system address", "Mauvaise adresse système de l'expéditeur"],
  ['5.2.0', 'soft', 'Other or undefined mailbox status', "Autre ou statut de la boîte e-mail indéfini"],
  ['5.2.1', 'soft', 'Mailbox disabled, not accepting messages', "Boîte d'e-mail désactivée, n'acceptant pas de messages"],
  ['5.2.2', 'soft', 'Mailbox full', "Boîte d'e-mail pleine"],
  ['5.2.3', 'hard', 'Message length exceeds administrative limit', "La longueur du message dépasse la limite administrative."],
  ['5.2.4', 'hard', 'Mailing list expansion problem', "Problème d'extension de liste de diffusion"],
  ['5.3.0', 'hard', 'Other or undefined mail system status', "Autre ou Statut du système e-mail indéfini"],
  ['5.3.1', 'soft', 'Mail system full', "Système d'e-mail saturé"],
  ['5.3.2', 'hard', 'System not accepting network messages', "Le système n'accepte pas les messages réseau"],
  ['5.3.3', 'hard', 'System not capable of selected features', "Le système ne prends pas en charge les fonctionnalités sélectionnées"],
  ['5.3.4', 'hard', 'Message too big for system', "Message trop volumineux pour le système"],
  ['5.4.0', 'hard', 'Other or undefined network or routing status', "Autre ou réseau indéfini ou problème de réseau"],
  ['5.4.1', 'hard', 'No answer from host', "Pas de réponse du serveur hôte"],
  ['5.4.2', 'hard', 'Bad connection', "Mauvaise connexion"],
  ['5.4.3', 'hard', 'Directory server failure', "Échec de routage du serveur"],
  ['5.4.4', 'hard', 'Unable to route', "Routage impossible"],
  ['5.4.5', 'soft', 'Mail system congestion', "Congestion de réseau"],
  ['5.4.6', 'hard', 'Routing loop detected', "Boucle de routage détectée"],
  ['5.4.7', 'hard', 'Delivery time expired', "Délai de livraison expiré"],
  ['5.5.0', 'hard', 'Other or undefined protocol status', "Autre ou statut du protocole indéfini"],
  ['5.5.1', 'hard', 'Invalid command', "Commande invalide"],
  ['5.5.2', 'hard', 'Syntax error', "Erreur de syntaxe"],
  ['5.5.3', 'soft', 'Too many recipients', "Trop de destinataires"],
  ['5.5.4', 'hard', 'Invalid command arguments', "Arguments de la commande invalides"],
  ['5.5.5', 'hard', 'Wrong protocol version', "Mauvaise version du protocole"],
  ['5.6.0', 'hard', 'Other or undefined media error', "Autre ou erreur média indéfinie"],
  ['5.6.1', 'hard', 'Media not supported', "Média non-supporté"],
  ['5.6.2', 'hard', 'Conversion required and prohibited', "conversion exigée et interdite"],
  ['5.6.3', 'hard', 'Conversion required but not supported', "Conversion requise mais non-supportée"],
  ['5.6.4', 'hard', 'Conversion with loss performed', "Conversion avec perte exécutée"],
  ['5.6.5', 'hard', 'Conversion failed', "Conversion échouée"],
  ['5.7.0', 'hard', 'Other or undefined security status', "Autre ou statut de sécurité indéfini"],
  ['5.7.1', 'hard', 'Delivery not authorized, message refused', "Livraison non autorisée, message refusé"],
  ['5.7.2', 'hard', 'Mailing list expansion prohibited', "Extension de la liste de diffusion interdite"],
  ['5.7.3', 'hard', 'Security conversion required but not possible', "Conversion de sécurité requise mais impossible"],
  ['5.7.4', 'hard', 'Security features not supported', "Fonctionnalités de sécurité non-supportées"],
  ['5.7.5', 'hard', 'Cryptographic failure', "Échec cryptographique"],
  ['5.7.6', 'hard', 'Cryptographic algorithm not supported', "Algorithme cryptographique non-supporté"],
  ['5.7.7', 'hard', 'Message integrity failure', "Échec de l'intégrité du message"],
  [
    '9.1.1',
    'hard',
    'Hard bounce with no bounce code found. It may be an invalid email address or an email rejected by the recipient\'s server (for example because of a sending limit).',
    "Rebond dur avec aucun code de rebond trouvé. Il peut s'agir d'un e-mail invalide ou d'un e-mail rejeté par votre serveur d'e-mail (par exemple en raison d'une limite d'envoi).",
  ],
];

export const STATUS_TABLE: ReadonlyMap<string, StatusEntry> = new Map(
  rows.map(([code, type, en, fr]) => [code, Object.freeze({ code, type, en, fr })]),
);
