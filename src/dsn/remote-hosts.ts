import { hostOf } from './dsn-fields.js';
import { remoteMtaIn } from './remote-mta.js';

/**
 * What some providers mean by their own answers, as data. A provider is recognised by the host
 * that answered (`Remote-MTA`, or the host named in the transcript), by a marker only its answers
 * carry (Gmail's ` - gsmtp`, Orange's `OFR_417`, a link to its help pages), else by the
 * recipient's domain. Its rules turn its wording or its own error codes into the enhanced status
 * code that means the same thing.
 *
 * A rule is used only where the report's own code says less: no code at all, a code inferred
 * from a phrase or from a bare SMTP reply (`550`), a generic `X.0.0`, or an `X.Y.0` that the
 * rule refines within the same subject (`4.7.0` -> `4.7.25`). A rule that lists `contradicts`
 * also replaces those exact codes: the provider writes them for this failure, but its own
 * documentation gives the failure another meaning (Orange answers `552 5.1.1` for a full
 * mailbox, Yahoo `553 5.7.2` for a blocked IP address). The class (4 or 5) stays the report's.
 *
 * `reason` is Sisimai's name for the failure (its `Rhost` modules are where these facts were
 * collected), kept for reporting reasons later. Each rule's `example` is an answer as the
 * provider writes it; a test runs every example through the rules. Every pattern is linear:
 * literal wording, alternations and bounded gaps only.
 */

export type Provider = 'apple' | 'cox' | 'orange' | 'godaddy' | 'google' | 'iua' | 'kddi' | 'microsoft' | 'mimecast' | 'docomo' | 'spectrum' | 'tencent' | 'yahoo';

export type Reason =
  | 'authfailure'
  | 'badreputation'
  | 'blocked'
  | 'exceedlimit'
  | 'failedstarttls'
  | 'filtered'
  | 'hasmoved'
  | 'hostunknown'
  | 'mailboxfull'
  | 'mesgtoobig'
  | 'networkerror'
  | 'norelaying'
  | 'notaccept'
  | 'notcompliantrfc'
  | 'policyviolation'
  | 'rejected'
  | 'requireptr'
  | 'securityerror'
  | 'spamdetected'
  | 'speeding'
  | 'suspend'
  | 'syntaxerror'
  | 'systemerror'
  | 'toomanyconn'
  | 'userunknown'
  | 'virusdetected';

export interface ProviderRule {
  readonly provider: Provider;
  readonly reason: Reason;
  /** The provider's wording or code, searched in the recipient's diagnostic and text. */
  readonly pattern: RegExp;
  /** `subject.detail` of the code it means; the class comes from the report. */
  readonly detail: string;
  /** Specific codes the provider writes for this failure that its documentation contradicts. */
  readonly contradicts?: readonly string[];
  /** An answer as the provider writes it. */
  readonly example: string;
}

interface ProviderHosts {
  /** Host names (exact) or suffixes (starting with a dot) of the provider's servers. */
  readonly hosts: readonly string[];
  /** Recipient domains the provider serves. */
  readonly domains: readonly string[];
  /** Wording only the provider's own answers carry. */
  readonly marks?: RegExp;
}

export const PROVIDERS: Readonly<Record<Provider, ProviderHosts>> = {
  apple: { hosts: ['.mail.icloud.com', '.apple.com', '.me.com'], domains: ['icloud.com', 'me.com', 'mac.com'], marks: /support\.apple\.com\/(?:en-us\/)?(?:HT204137|102322)/i },
  cox: { hosts: ['cox.net', '.cox.net'], domains: ['cox.net'], marks: /\bAUP#(?:CX|CDRBL|IPBL|URLBL)/ },
  orange: { hosts: ['.orange.fr', '.wanadoo.fr', '.laposte.net'], domains: ['orange.fr', 'wanadoo.fr', 'laposte.net'], marks: /\b(?:OFR|LPN|OUK)(?:AAA|\d{1,3})?_\d{3}\b/ },
  godaddy: { hosts: ['.secureserver.net'], domains: [], marks: /\.secureserver\.net\b/i },
  google: { hosts: ['.google.com', '.googlemail.com'], domains: ['gmail.com', 'googlemail.com'], marks: / - gsmtp\b|support\.google\.com\/mail/i },
  iua: { hosts: ['.email.ua', '.i.ua'], domains: ['i.ua', 'email.ua'], marks: /\bmail\.i\.ua\/err\//i },
  kddi: { hosts: ['.ezweb.ne.jp', 'msmx.au.com', '.au.com'], domains: ['ezweb.ne.jp', 'au.com'] },
  microsoft: {
    hosts: ['.protection.outlook.com', '.prod.outlook.com', '.outlook.com', '.onmicrosoft.com', '.exchangelabs.com', '.hotmail.com'],
    domains: ['hotmail.com', 'outlook.com', 'live.com', 'msn.com', 'hotmail.co.uk', 'hotmail.fr', 'live.fr', 'outlook.fr'],
    marks: /postmaster\.live\.com|mail\.live\.com\/mail\/troubleshooting/i,
  },
  mimecast: { hosts: ['.mimecast.com', '.mimecast-offshore.com'], domains: [], marks: /community\.mimecast\.com/i },
  docomo: { hosts: ['mfsmax.docomo.ne.jp', '.docomo.ne.jp'], domains: ['docomo.ne.jp'] },
  spectrum: { hosts: ['.charter.net', '.spectrum.net'], domains: ['charter.net', 'spectrum.net'], marks: /\bAUP#[IO]-?\d{4}\b/ },
  tencent: { hosts: ['.qq.com'], domains: ['qq.com', 'vip.qq.com', 'foxmail.com'], marks: /service\.mail\.qq\.com/i },
  yahoo: {
    hosts: ['.yahoodns.net', '.yahoo.com'],
    domains: ['yahoo.com', 'ymail.com', 'rocketmail.com', 'yahoo.co.uk', 'yahoo.fr', 'yahoo.de', 'yahoo.es', 'yahoo.it', 'yahoo.ca', 'yahoo.com.br'],
    marks: /postmaster\.yahoo(?:inc)?\.com|senders\.yahooinc\.com/i,
  },
};

const r = (provider: Provider, reason: Reason, detail: string, pattern: RegExp, example: string, contradicts?: readonly string[]): ProviderRule =>
  contradicts ? { provider, reason, detail, pattern, example, contradicts } : { provider, reason, detail, pattern, example };

/** The rules, per provider; within a provider the first that matches wins. */
export const PROVIDER_RULES: readonly ProviderRule[] = [
  // Apple iCloud Mail (support.apple.com/102322).
  r('apple', 'blocked', '7.1', /\bnot accepting connections\b/i, '554 mx01.mail.icloud.com ESMTP not accepting connections'),
  r('apple', 'blocked', '7.1', /rejected due to (?:having a domain present in the spamhaus|listing in spamhaus)|blocked - see https?:\/\/support\.proofpoint\.com\/dnsbl-lookup/i, '550 5.7.0 Blocked - see https://support.proofpoint.com/dnsbl-lookup.cgi?ip=192.0.2.25'),
  r('apple', 'authfailure', '7.26', /'s dmarc policy|blocked for failing both spf and dkim/i, "554 5.7.1 Your message was rejected due to sender.example's DMARC policy. See https://support.apple.com/en-us/HT204137 for details"),
  r('apple', 'hasmoved', '1.6', /recipient no longer on server/i, '550 5.1.6 recipient no longer on server: gone.example@icloud.com'),
  r('apple', 'mailboxfull', '2.2', /user is over quota/i, '552 5.2.2 <full.example@icloud.com>: user is over quota (in reply to RCPT TO command)'),
  r('apple', 'norelaying', '7.1', /relay access denied/i, '554 5.7.1 <someone.example@icloud.com>: Relay access denied'),
  r('apple', 'policyviolation', '7.1', /due to local policy/i, '550 5.7.1 [CS01] Message rejected due to local policy. Please visit https://support.apple.com/en-us/HT204137'),
  r('apple', 'speeding', '4.5', /due to excessive volume/i, '421 4.7.1 Messages to busy.example@icloud.com deferred due to excessive volume. Try again later - https://support.apple.com/en-us/HT204137'),
  r('apple', 'userunknown', '1.1', /inactive email address|user does not exist|unknown or illegal alias/i, '550 5.1.1 <ivy.example@icloud.com>: inactive email address (in reply to RCPT TO command)'),

  // Cox (cox.com postmaster): its own codes after `AUP#`, then its wording.
  r('cox', 'blocked', '7.1', /\bAUP#(?:CXBL|CDRBL|IPBL\d{4,5})\b/, '554 cxr.mx.a.cox.net cox connection refused from [192.0.2.25] AUP#CXBL'),
  r('cox', 'spamdetected', '7.1', /\bAUP#URLBL\d{3,4}\b/, '554 cxr.mx.a.cox.net cox URL in message is on a block list AUP#URLBL011'),
  r('cox', 'requireptr', '7.25', /\bAUP#CXDNS\b|rejected - no rdns|dns check failure - try again later/i, '421 cxr.mx.a.cox.net cox DNS check failure - try again later AUP#CXDNS'),
  r('cox', 'authfailure', '7.26', /\bAUP#CXSNDR\b/, '550 cxr.mx.a.cox.net cox sender domain failed authentication AUP#CXSNDR'),
  r('cox', 'rejected', '7.1', /\bAUP#CXSMTP\b|\bsender rejected\b/i, '550 cxr.mx.a.cox.net cox SMTP protocol violation AUP#CXSMTP'),
  r('cox', 'securityerror', '7.1', /\bAUP#(?:CXTHRT|CXMJ)\b/, '550 cxr.mx.a.cox.net cox sending limited due to suspicious account activity AUP#CXTHRT'),
  r('cox', 'toomanyconn', '4.5', /\bAUP#(?:CXCNCT|CXMXRT)\b|too many sessions from|requested action aborted: try again later|message threshold exceeded/i, '421 cxr.mx.a.cox.net cox too many sessions from 192.0.2.25 AUP#CXCNCT'),
  r('cox', 'blocked', '7.1', /cox too many bad commands from|too many invalid recipients/i, '554 cxr.mx.a.cox.net cox too many invalid recipients'),
  r('cox', 'policyviolation', '7.1', /esmtp no data before greeting|attachment extension is forbidden/i, '552 cxr.mx.a.cox.net cox attachment extension is forbidden'),
  r('cox', 'systemerror', '3.2', /esmtp server temporarily not available/i, '421 cxr.mx.a.cox.net cox ESMTP server temporarily not available'),
  r('cox', 'userunknown', '1.1', /\brecipient rejected\b/i, '550 <nobody.example@cox.net> recipient rejected'),

  // Orange, Wanadoo, La Poste (their codes `OFR_417`, `OFR004_405`, `LPN007_420`, `LPNAAA_101`).
  r('orange', 'blocked', '7.1', /\b(?:OFR|LPN|OUK)(?:AAA|\d{1,3})?_(?:101|102|103|510|999)\b/, '421 mwinf5c77 ME Service refuse. Veuillez essayer plus tard. Service refused, please try later. OFR_999 [999]', ['5.5.0']),
  r('orange', 'toomanyconn', '4.5', /\b(?:OFR|LPN|OUK)(?:AAA|\d{1,3})?_104\b/, '421 mwinf5c79 ME Trop de connexions, veuillez verifier votre configuration. Too many connections, slow down. OFR005_104 [104]'),
  // La Poste answers `550 5.5.0` (a protocol status) for most refusals: its own code says which.
  r('orange', 'securityerror', '7.0', /\b(?:OFR|LPN|OUK)(?:AAA|\d{1,3})?_(?:305|402)\b/, '550 5.5.0 Authentification requise. Authentication Required. LPN105_402', ['5.5.0']),
  r('orange', 'authfailure', '7.23', /\b(?:OFR|LPN|OUK)(?:AAA|\d{1,3})?_401\b|spf\/dns de votre nom de domaine/i, '550 5.5.0 SPF: 192.0.2.25 is not allowed to send mail. LPN004_401', ['5.5.0']),
  r('orange', 'authfailure', '7.1', /\b(?:OFR|LPN|OUK)(?:AAA|\d{1,3})?_517\b/, '571 5.7.1 Message refused, DMARC verification Failed. Message refuse, verification DMARC en echec LPN007_517'),
  r('orange', 'rejected', '7.1', /\b(?:OFR|LPN|OUK)(?:AAA|\d{1,3})?_(?:403|405|415|421)\b/, '501 5.1.0 Emetteur invalide. Invalid Sender. OFR004_405 [405] (in reply to MAIL FROM command)'),
  r('orange', 'userunknown', '1.1', /\b(?:OFR|LPN|OUK)(?:AAA|\d{1,3})?_?416\b/, '550 5.1.1 Adresse d au moins un destinataire invalide. Invalid recipient. OFR_416 [416] (in reply to RCPT TO command)'),
  // Orange answers `552 5.1.1` for a full mailbox: its code 417 says "recipient overquota".
  r('orange', 'mailboxfull', '2.2', /\b(?:OFR|LPN|OUK)(?:AAA|\d{1,3})?_417\b/, '552 5.1.1 Boite du destinataire pleine. Recipient overquota. OFR_417 [417] (in reply to RCPT TO command)', ['5.1.1', '4.1.1']),
  // La Poste answers `550 5.5.0` (a protocol status) for an archived or blocked mailbox.
  r('orange', 'suspend', '2.1', /\b(?:OFR|LPN|OUK)(?:AAA|\d{1,3})?_(?:420|426)\b/, '550 5.5.0 Boite du destinataire archivee. Archived recipient. LPN007_420 (in reply to RCPT TO command)', ['5.5.0']),
  r('orange', 'systemerror', '3.0', /\b(?:OFR|LPN|OUK)(?:AAA|\d{1,3})?_505\b/, '421 4.2.0 Service refuse. Veuillez essayer plus tard. Service refused, please try later. OFR005_505 [505] (in reply to end of DATA command)'),
  r('orange', 'spamdetected', '7.1', /\b(?:OFR|LPN|OUK)(?:AAA|\d{1,3})?_506\b/, '550 Mail rejete. Mail rejected. OFR_506 [506]'),
  r('orange', 'mesgtoobig', '3.4', /\b(?:OFR|LPN|OUK)(?:AAA|\d{1,3})?_514\b/, '552 Taille limite du message atteinte. Message size limit reached. OFR_514 [514]'),
  r('orange', 'policyviolation', '7.1', /\b(?:OFR|LPN|OUK)(?:AAA|\d{1,3})?_630\b/, '554 5.7.1 Client host rejected LPN000_630'),

  // GoDaddy (its inbound servers' `IBnnn` codes, godaddy.com help 40685).
  r('godaddy', 'securityerror', '7.0', /\bIB401\b/, '535 Authentication not allowed on IBSMTP Servers. IB401'),
  r('godaddy', 'notcompliantrfc', '7.1', /\bIB50[12]\b/, '550 sender.example Blank From: addresses are not allowed. Provide a valid From. IB501'),
  r('godaddy', 'rejected', '1.8', /\bIB506\b/, '550 sender.example From: Domain is invalid. Provide a valid From: IB506'),
  r('godaddy', 'authfailure', '7.23', /\bIB508\b/, '550 news@sender.example Invalid SPF record. Inspect your SPF settings, and try again. IB508'),
  r('godaddy', 'requireptr', '7.25', /\bIB108\b/, '421 Temporarily rejected. Reverse DNS for this IP failed. IB108'),
  r('godaddy', 'spamdetected', '7.1', /\bIB212\b|message rejected for spam or virus content/i, '552 This message has been rejected due to content judged to be spam by the internet community. IB212'),
  r('godaddy', 'virusdetected', '7.1', /\bIB705\b/, '552 Virus infected message rejected. IB705'),
  r('godaddy', 'toomanyconn', '5.3', /\bIB605\b/, '452 This message contains too many recipients. Reduce the number of recipients and retry. IB605'),
  r('godaddy', 'speeding', '4.5', /\bIB(?:007|101|504|510|607)\b/, '421 Connection refused, too many sessions from This IP. Lower the number of concurrent sessions. IB007'),
  r('godaddy', 'blocked', '7.1', /\bIB(?:103|104|105|106|110|111|112|113)\b|\brbl reject\b|spamhaus\.org\/query\/bl\?ip=/i, '554 p3plibsmtp01-11.prod.phx3.secureserver.net bizsmtp IB110. Connection refused. 192.0.2.25 This IP has been temporarily blocked for attempting to send too many messages containing content judged to be spam by the Internet community.'),
  r('godaddy', 'mailboxfull', '2.2', /account storage limit/i, '552 5.2.2 Account storage limit reached for full.example@customer.example'),
  r('godaddy', 'suspend', '2.1', /\baccount disabled\b/i, '550 5.2.1 Account disabled: off.example@customer.example'),
  r('godaddy', 'systemerror', '4.6', /message is looping/i, '554 This message is looping: it already has my Delivered-To line. (#5.4.6)'),

  // Google: Gmail and Google Workspace (support.google.com/a/answer/3726730).
  r('google', 'requireptr', '7.25', /does not have a ptr record|have a ptr record, or the ptr record|does not match the ip address of the hostname/i, '421-4.7.0 [192.0.2.25] The IP address sending this message does not have a PTR record, or the corresponding forward DNS entry does not point to the sending IP. - gsmtp'),
  r('google', 'authfailure', '7.26', /senders to authenticate with either spf or dkim|is not accepted due to domain'?s dmarc policy|fails to pass authentication checks|hard fail policy/i, "550-5.7.26 Unauthenticated email from sender.example is not accepted due to domain's DMARC policy. - gsmtp"),
  r('google', 'failedstarttls', '7.10', /tls required for rcpt domain|senders to use tls\/ssl for smtp|must issue a starttls command first/i, '421-4.7.0 TLS required for RCPT domain, closing connection. - gsmtp'),
  r('google', 'badreputation', '7.1', /very low reputation of the sending/i, '421-4.7.0 This message is suspicious due to the very low reputation of the sending IP address. - gsmtp'),
  r('google', 'blocked', '7.1', /ip not in whitelist for rcpt domain|an unusual rate of (?:unsolicited )?mail/i, '421-4.7.0 IP not in whitelist for RCPT domain, closing connection. - gsmtp'),
  r('google', 'spamdetected', '7.1', /nature of the content or the links within|likely unsolicited mail/i, '421-4.7.0 This message is suspicious due to the nature of the content or the links within. - gsmtp'),
  r('google', 'norelaying', '7.1', /mail relay denied|invalid credentials for relay/i, '550-5.7.0 Mail relay denied [192.0.2.25]. Invalid credentials for relay for one of the domains in: sender.example - gsmtp'),
  r('google', 'policyviolation', '7.1', /illegal attachment on your message|content presents a potential security issue/i, '552-5.7.0 This message was blocked because its content presents a potential security issue. - gsmtp'),
  // Gmail answers `554 5.6.0` (a media error) when it stops a mail loop.
  r('google', 'networkerror', '4.6', /message exceeded \d{1,3} hops/i, '554-5.6.0 Message exceeded 50 hops, this may indicate a mail loop. - gsmtp', ['5.6.0']),
  r('google', 'suspend', '2.1', /account that you tried to reach is (?:disabled|inactive)/i, '550-5.2.1 The email account that you tried to reach is inactive. - gsmtp'),
  r('google', 'mailboxfull', '2.2', /inbox is out of storage space|account that you tried to reach is over quota/i, '452-4.2.2 The recipient\'s inbox is out of storage space. - gsmtp'),
  r('google', 'userunknown', '1.1', /account that you tried to reach does not exist/i, '550-5.1.1 The email account that you tried to reach does not exist. - gsmtp'),
  r('google', 'hostunknown', '1.2', /able to find the recipient domain/i, "553-5.1.2 We weren't able to find the recipient domain. - gsmtp"),
  r('google', 'toomanyconn', '5.3', /your message has too many recipients/i, '452-4.5.3 Your message has too many recipients. - gsmtp'),
  r('google', 'speeding', '4.5', /receiving mail too quickly|receiving mail at a rate that|smtp relay limit exceeded/i, '450-4.2.1 The user you are trying to contact is receiving mail too quickly. - gsmtp'),
  r('google', 'mesgtoobig', '3.4', /exceeded google'?s message size limits|exceeds google'?s message size limit/i, "552-5.3.4 Your message exceeded Google's message size limits. - gsmtp"),
  r('google', 'systemerror', '3.0', /temporary system problem/i, '421-4.3.0 Temporary System Problem. Try again later. - gsmtp'),

  // i.ua: the number of its help page, `mail.i.ua/err/N/`.
  r('iua', 'norelaying', '7.1', /\bmail\.i\.ua\/err\/[16]\//i, '550 Use SMTP of your provider to send mail, see https://mail.i.ua/err/6/'),
  r('iua', 'userunknown', '1.1', /\bmail\.i\.ua\/err\/2\//i, '550 User is not found, see https://mail.i.ua/err/2/'),
  r('iua', 'suspend', '2.1', /\bmail\.i\.ua\/err\/3\//i, '550 Mailbox was not used for more than 3 months, see https://mail.i.ua/err/3/'),
  r('iua', 'mailboxfull', '2.2', /\bmail\.i\.ua\/err\/4\//i, '550 Mailbox is full, see https://mail.i.ua/err/4/'),
  r('iua', 'toomanyconn', '4.5', /\bmail\.i\.ua\/err\/5\//i, '550 Letter sending limit is exceeded, see https://mail.i.ua/err/5/'),
  r('iua', 'blocked', '7.1', /\bmail\.i\.ua\/err\/[79]\//i, '550 IP-address of the sender is in the black list, see https://mail.i.ua/err/9/'),
  r('iua', 'rejected', '7.1', /\bmail\.i\.ua\/err\/8\//i, "550 Couldn't check sender address, see https://mail.i.ua/err/8/"),
  r('iua', 'filtered', '7.1', /\bmail\.i\.ua\/err\/10\//i, '550 Not in the list of allowed senders, see https://mail.i.ua/err/10/'),

  // KDDI (au, ezweb): `550 : User unknown`, without an address, is the recipient's reception
  // filter (the mailbox exists); with the address it is an unknown user.
  r('kddi', 'filtered', '7.1', /\b550 : user unknown/i, '550 : User unknown', ['5.1.1']),
  r('kddi', 'userunknown', '1.1', />: user unknown/i, '550 <nobody.example@ezweb.ne.jp>: User unknown'),

  // Microsoft: Outlook.com, Hotmail, Exchange Online.
  r('microsoft', 'badreputation', '7.1', /\b(?:RP-00[123]|SC-001|OU-002)\b/, '550 SC-001 (BAY004-MC5F14) Unfortunately, messages from 192.0.2.25 weren\'t sent. Please contact your Internet service provider since part of their network is on our block list. You can also refer your provider to http://mail.live.com/mail/troubleshooting.aspx#errors.'),
  r('microsoft', 'policyviolation', '7.1', /\bSC-002\b/, '550 SC-002 (COL004-MC1F7) Mail rejected by Outlook.com for policy reasons. The mail server IP connecting to Outlook.com has exhibited namespace mining behavior.'),
  r('microsoft', 'blocked', '7.1', /\b(?:SC-00[34]|DY-00[12]|OU-001)\b/, '550 DY-001 (SNT004-MC1F13) Unfortunately, messages from 192.0.2.25 weren\'t sent. Please contact your Internet service provider. We do not accept email from dynamic IPs.'),
  // Microsoft answers `550 5.4.1` (a network status) when directory-based edge blocking does not
  // find the recipient, and `550 5.5.0` (a protocol status) for an unknown Outlook.com address.
  r('microsoft', 'userunknown', '1.1', /recipient address rejected: access denied/i, '550 5.4.1 Recipient address rejected: Access denied. AS(201806281) [DB5EUR03FT011.eop-EUR03.prod.protection.outlook.com]', ['5.4.1']),
  r('microsoft', 'userunknown', '1.1', /requested action not taken: mailbox unavailable/i, '550 5.5.0 Requested action not taken: mailbox unavailable (S2017062302). [AM5EUR03FT020.eop-EUR03.prod.protection.outlook.com]', ['5.5.0']),
  // Exchange Online answers `5.2.2` (mailbox full) when the sender went over its sending quota.
  r('microsoft', 'speeding', '4.5', /submission quota exceeded/i, '554 5.2.2 mailbox full; STOREDRV.Submission.Exception:SubmissionQuotaExceededException; Failed to process message due to a permanent exception with message Submission quota exceeded', ['5.2.2']),
  r('microsoft', 'speeding', '4.5', /recipient thread limit exceeded/i, '432 4.3.2 STOREDRV.Deliver; recipient thread limit exceeded', ['4.3.2']),

  // Mimecast (community.mimecast.com, Mimecast SMTP error codes).
  r('mimecast', 'authfailure', '7.23', /spf sender invalid - envelope rejected/i, '550 SPF Sender Invalid - envelope rejected - https://community.mimecast.com/docs/DOC-1369#550'),
  r('mimecast', 'authfailure', '7.1', /(?:dkim|dmarc) sender invalid - envelope rejected/i, '550 DMARC Sender Invalid - envelope rejected - https://community.mimecast.com/docs/DOC-1369#550'),
  r('mimecast', 'badreputation', '7.1', /local ct ip reputation - \(reject\)|internal resources are temporarily unavailable/i, '550 Local CT IP Reputation - (reject) - https://community.mimecast.com/docs/DOC-1369#550'),
  r('mimecast', 'blocked', '7.1', /sender address blocked|ip temporarily blacklisted|recipient temporarily unavailable/i, '451 IP Temporarily Blacklisted - https://community.mimecast.com/docs/DOC-1369#451'),
  r('mimecast', 'failedstarttls', '7.10', /this route requires (?:encryption|tls version|high-strength ciphers)/i, '553 This route requires encryption (TLS) - https://community.mimecast.com/docs/DOC-1369#553'),
  r('mimecast', 'mesgtoobig', '3.4', /maximum email size exceeded/i, '554 Maximum email size exceeded - https://community.mimecast.com/docs/DOC-1369#554'),
  r('mimecast', 'norelaying', '7.1', /open relay (?:is )?not allowed/i, '451 Open relay not allowed - https://community.mimecast.com/docs/DOC-1369#451'),
  r('mimecast', 'notaccept', '3.2', /account inbounds disabled/i, '451 Account inbounds disabled - https://community.mimecast.com/docs/DOC-1369#451'),
  r('mimecast', 'policyviolation', '7.1', /anti-spoofing policy|content examination policy|host network,? not allowed/i, '550 Anti-Spoofing policy - Inbound not allowed - https://community.mimecast.com/docs/DOC-1369#550'),
  r('mimecast', 'rejected', '7.1', /administrative prohibition envelope blocked|envelope blocked - user (?:domain )?entry|blocked senders - block|block policy for envelope from address/i, '550 Administrative prohibition envelope blocked - https://community.mimecast.com/docs/DOC-1369#550 [aBcDeFgHiJkLmNoPqRsTuV.us43]'),
  r('mimecast', 'securityerror', '7.8', /incorrect authentication data|submitter failed to authenticate/i, '535 Incorrect authentication data - https://community.mimecast.com/docs/DOC-1369#535'),
  r('mimecast', 'systemerror', '3.0', /unable to process (?:connection at this time|command|an email at this time)|message ended early/i, '451 Unable to process connection at this time - https://community.mimecast.com/docs/DOC-1369#451'),
  r('mimecast', 'toomanyconn', '4.5', /account service is temporarily unavailable|exceeding outbound thread limit/i, '451 Account service is temporarily unavailable - https://community.mimecast.com/docs/DOC-1369#451'),
  r('mimecast', 'userunknown', '1.1', /invalid recipient|\buser unknown\b/i, '550 Invalid Recipient - https://community.mimecast.com/docs/DOC-1369#550'),
  r('mimecast', 'virusdetected', '7.1', /email rejected due to security policies/i, '554 Email rejected due to security policies - https://community.mimecast.com/docs/DOC-1369#554'),

  // NTT DOCOMO: `550 Unknown user` after the message's data is its reception filter; at RCPT
  // it is an unknown user (Sendmail and Postfix then write only `Status: 5.0.0`).
  r('docomo', 'rejected', '7.1', /\b550 unknown user\b[^()]{0,300}\(in reply to end of data/i, '550 Unknown user filtered.example@docomo.ne.jp (in reply to end of DATA command)'),
  r('docomo', 'userunknown', '1.1', /\b550 unknown user\b/i, '550 Unknown user nobody.example@docomo.ne.jp'),
  r('docomo', 'toomanyconn', '5.3', /\b552 too many recipients/i, '552 Too many recipients'),

  // Spectrum, Charter: `AUP#I-nnnn` (incoming) and `AUP#O-nnnn` (outgoing) codes.
  r('spectrum', 'blocked', '7.1', /\bAUP#[IO]?-?(?:1000|12[0-4]\d|1250)\b/, '554 5.7.1 Your IP address has been blocked due to suspicious activity. AUP#I-1000'),
  r('spectrum', 'rejected', '7.1', /\bAUP#[IO]?-?(?:10[1-7]\d|1080|1500|1520)\b/, '550 5.7.1 This email account has been blocked from sending emails due to suspicious activity. AUP#O-1010'),
  r('spectrum', 'systemerror', '3.0', /\bAUP#[IO]?-?1090\b/, "451 The email you're trying to send can't be processed. Try sending again at a later time. AUP#I-1090"),
  r('spectrum', 'requireptr', '7.25', /\bAUP#[IO]?-?(?:11[0-4]\d|1150)\b/, '421 mx03.mail.charter.net cmsmtp IP address 192.0.2.25 has no reverse DNS entry. AUP#I-1100'),
  r('spectrum', 'policyviolation', '7.1', /\bAUP#[IO]?-?(?:11[6-8]\d|1190|1560)\b/, "550 The email you tried to send goes against your domain's security policies. AUP#I-1160"),
  r('spectrum', 'networkerror', '3.3', /\bAUP#[IO]?-?1260\b/, "554 Spectrum doesn't process IPV6 addresses. AUP#I-1260"),
  r('spectrum', 'toomanyconn', '4.5', /\bAUP#[IO]?-?(?:13[0-3]\d|1340)\b/, '421 Too many concurrent connections from your IP address. AUP#I-1310'),
  r('spectrum', 'speeding', '4.5', /\bAUP#[IO]?-?(?:13[5-9]\d|14[0-8]\d|1490|1540|1580)\b/, '452 You have sent too many messages. Try again later. AUP#I-1350'),
  r('spectrum', 'mesgtoobig', '3.4', /\bAUP#[IO]?-?1530\b/, "552 Your email was rejected because it's larger than the maximum size of 20MB. AUP#O-1530"),
  r('spectrum', 'toomanyconn', '5.3', /\bAUP#[IO]?-?1550\b/, '452 Your email was rejected for having too many recipients in one message. AUP#O-1550'),

  // Tencent QQ Mail (service.mail.qq.com/detail/122).
  r('tencent', 'authfailure', '7.23', /\bspf check failed/i, '550 SPF check failed [MXnwqITiW2e4...]. https://service.mail.qq.com/detail/122/72'),
  r('tencent', 'authfailure', '7.1', /\bdmarc check failed/i, '550 DMARC check failed [MXnwqITiW2e4...]. https://service.mail.qq.com/detail/122/72'),
  r('tencent', 'blocked', '7.1', /suspected bounce attacks|suspected spam ip|\bconnection denied/i, '550 Suspected spam ip [192.0.2.25]. https://service.mail.qq.com/detail/122/66'),
  r('tencent', 'rejected', '7.1', /suspected spam|mail is rejected by recipients/i, '550 Mail is rejected by recipients [MXnwqITiW2e4...]. https://service.mail.qq.com/detail/122/92'),
  r('tencent', 'spamdetected', '7.1', /spam is embedded in the email|mail content denied/i, '550 Mail content denied. https://service.mail.qq.com/detail/122/171'),
  r('tencent', 'speeding', '4.5', /mailbox unavailable or access deni(?:n?ed)|frequency of receiving messages is limited/i, '550 Mailbox unavailable or access denined [MXnwqITiW2e4...]. https://service.mail.qq.com/detail/122/166'),
  r('tencent', 'suspend', '2.1', /is a deactivated mailbox/i, '550 qq.example@qq.com is a deactivated mailbox'),
  r('tencent', 'syntaxerror', '1.3', /bad address syntax/i, '550 Bad address syntax. https://service.mail.qq.com/detail/122/167'),
  r('tencent', 'toomanyconn', '4.5', /\b(?:ip|domain|sender|connection) frequency limited/i, '550 Ip frequency limited [192.0.2.25]. https://service.mail.qq.com/detail/122/172'),
  r('tencent', 'mesgtoobig', '3.4', /message too large/i, '552 Message too large. https://service.mail.qq.com/detail/122/168'),
  r('tencent', 'userunknown', '1.1', /mailbox not found/i, '550 Mailbox not found. https://service.mail.qq.com/detail/122/169'),

  // Yahoo (senders.yahooinc.com/smtp-error-codes).
  r('yahoo', 'authfailure', '7.26', /yahoo requires all senders to authenticate with either spf or dkim/i, '550 5.7.9 This mail has been blocked because the sender is unauthenticated. Yahoo requires all senders to authenticate with either SPF or DKIM.'),
  r('yahoo', 'blocked', '7.1', /because the ip is in spamhaus'?s list|not accepted from ip addresses on spamhaus/i, "553 5.7.1 [BL21] Connections will not be accepted from 192.0.2.25, because the ip is in Spamhaus's list; see http://postmaster.yahoo.com/550-bl23.html"),
  r('yahoo', 'norelaying', '7.1', /relaying denied for /i, '550 relaying denied for <someone.example@yahoo.com>'),
  r('yahoo', 'notcompliantrfc', '7.1', /headers are not rfc compliant/i, '554 5.7.9 Message not accepted, headers are not RFC compliant'),
  r('yahoo', 'policyviolation', '7.1', /not accepted for policy reasons/i, '554 Message not allowed - [PH01] Email not accepted for policy reasons. Please visit https://postmaster.yahooinc.com/error-codes'),
  r('yahoo', 'rejected', '1.8', /due to unresolvable rfc\.?5321 (?:from )?domain/i, '451 Message temporarily deferred due to unresolvable RFC.5321 from domain. See https://senders.yahooinc.com/error-codes#unresolvable-from-domain'),
  // Yahoo answers `553 5.7.2` (mailing list expansion prohibited) for an IP address it refuses.
  r('yahoo', 'rejected', '7.1', / will be permanently deferred|temporarily deferred due to unexpected volume or user complaints/i, '553 5.7.2 [TSS09] All messages from 192.0.2.25 will be permanently deferred; Retrying will NOT succeed. See https://postmaster.yahooinc.com/error-codes', ['5.7.2']),
  r('yahoo', 'speeding', '4.5', /user is receiving mail too quickly/i, '450 User is receiving mail too quickly'),
  r('yahoo', 'toomanyconn', '4.5', /max message per connection reached/i, '421 Max message per connection reached, closing transmission channel'),
  r('yahoo', 'syntaxerror', '5.4', /syntax error in parameters or arguments/i, '501 Syntax error in parameters or arguments'),
  r('yahoo', 'userunknown', '1.1', /dd this user doesn'?t have an? |mailbox not found/i, "554 delivery error: dd This user doesn't have a yahoo.com account (dora.example@yahoo.com) [0] - mta1008.mail.gq1.yahoo.com"),
];

const RULES_BY_PROVIDER = new Map<Provider, ProviderRule[]>();
for (const rule of PROVIDER_RULES) {
  const list = RULES_BY_PROVIDER.get(rule.provider) ?? [];
  list.push(rule);
  RULES_BY_PROVIDER.set(rule.provider, list);
}

const PROVIDER_NAMES = Object.keys(PROVIDERS) as Provider[];

// Every provider's marks in one pattern, a named group each: one scan of the answer instead of
// one per provider.
const MARKS = new RegExp(PROVIDER_NAMES.filter((p) => PROVIDERS[p].marks).map((p) => `(?<${p}>${PROVIDERS[p].marks!.source})`).join('|'), 'i');

function hostIs(host: string, names: readonly string[]): boolean {
  return names.some((n) => (n.startsWith('.') ? host.endsWith(n) || host === n.slice(1) : host === n));
}

/**
 * The provider that answered for a recipient: by the remote host, else by a marker of its
 * answers in the recipient's text, else by the recipient's domain.
 */
export function providerOf(remoteMta: string | null | undefined, answer: string, recipient: string | null): Provider | null {
  const host = hostOf(remoteMta ?? null) ?? remoteMtaIn(answer);
  if (host) for (const p of PROVIDER_NAMES) if (hostIs(host, PROVIDERS[p].hosts)) return p;
  const m = MARKS.exec(answer.length > 8192 ? answer.slice(0, 8192) : answer);
  if (m?.groups) for (const p of PROVIDER_NAMES) if (m.groups[p] !== undefined) return p;
  const domain = recipient ? recipient.slice(recipient.lastIndexOf('@') + 1).toLowerCase() : '';
  if (domain) for (const p of PROVIDER_NAMES) if (PROVIDERS[p].domains.includes(domain)) return p;
  return null;
}

/** The first rule of a provider that matches its answer, with where in the answer it matched. */
export function providerRule(provider: Provider, answer: string): { rule: ProviderRule; index: number } | null {
  for (const rule of RULES_BY_PROVIDER.get(provider) ?? []) {
    const m = rule.pattern.exec(answer);
    if (m) return { rule, index: m.index };
  }
  return null;
}
