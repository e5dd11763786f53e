import type { Decoder } from '../types.js';
import { activehunter } from './activehunter.js';
import { amavis } from './amavis.js';
import { amazonSes } from './amazon-ses.js';
import { amazonWorkmail } from './amazon-workmail.js';
import { apacheJames } from './apache-james.js';
import { aol } from './aol.js';
import { arf } from './arf.js';
import { autoreply } from './autoreply.js';
import { barracuda } from './barracuda.js';
import { bigfoot } from './bigfoot.js';
import { biglobe } from './biglobe.js';
import { bounceText } from './bounce-text.js';
import { challenge } from './challenge.js';
import { courier } from './courier.js';
import { domino } from './domino.js';
import { dragonfly } from './dragonfly.js';
import { exchange2003 } from './exchange2003.js';
import { exchange2007 } from './exchange2007.js';
import { exim } from './exim.js';
import { ezweb } from './ezweb.js';
import { facebook } from './facebook.js';
import { fml } from './fml.js';
import { gmail } from './gmail.js';
import { gmx } from './gmx.js';
import { googleGroups } from './google-groups.js';
import { gsuite } from './gsuite.js';
import { icloud } from './icloud.js';
import { imail } from './imail.js';
import { interscanMss } from './interscan-mss.js';
import { jmrp } from './jmrp.js';
import { kddi } from './kddi.js';
import { mailfoundry } from './mailfoundry.js';
import { mailmarshal } from './mailmarshal.js';
import { mcafee } from './mcafee.js';
import { mdaemon } from './mdaemon.js';
import { mdn } from './mdn.js';
import { messagelabs } from './messagelabs.js';
import { messagingServer } from './messaging-server.js';
import { mfilter } from './mfilter.js';
import { mimecast } from './mimecast.js';
import { mxlogic } from './mxlogic.js';
import { office365 } from './office365.js';
import { opensmtpd } from './opensmtpd.js';
import { postfix } from './postfix.js';
import { powermta } from './powermta.js';
import { qmailClone } from './qmail-clone.js';
import { qmail } from './qmail.js';
import { rfc3464 } from './rfc3464.js';
import { sendgrid } from './sendgrid.js';
import { sendmail } from './sendmail.js';
import { sesNotification } from './ses-notification.js';
import { technicalDetails } from './technical-details.js';
import { troubleDelivering } from './trouble-delivering.js';
import { verizon } from './verizon.js';
import { wrappedDsn } from './wrapped-dsn.js';
import { yahoo } from './yahoo.js';
import { zoho } from './zoho.js';

/**
 * The decoder chain, tried in order; the first that recognises a message wins:
 * 1. reports that are not bounces but have a structure of their own (ARF complaints, complaint
 *    reports without ARF, SES JSON notifications, read receipts);
 * 2. mailbox providers and gateways, recognised by who sends the report (Google Groups and
 *    Google Workspace before Gmail: their reports come from Gmail's daemon too; Amazon WorkMail
 *    before Amazon SES, which sends its reports);
 * 3. MTAs, recognised by their wording;
 * 4. the standard RFC 3464 / RFC 6533 report from anyone else;
 * 5. automatic answers (challenge/response, auto-replies);
 * 6. the generic fallback for anything else that is a bounce.
 * `qmail-clone` comes after `qmail`, whose own greeting is the more specific marker.
 */
export const DECODERS: readonly Decoder[] = [
  arf,
  jmrp,
  sesNotification,
  mdn,
  amazonWorkmail,
  wrappedDsn,
  amazonSes,
  googleGroups,
  gsuite,
  gmail,
  office365,
  yahoo,
  aol,
  icloud,
  zoho,
  mimecast,
  sendgrid,
  powermta,
  messagelabs,
  mcafee,
  verizon,
  mailmarshal,
  technicalDetails,
  mfilter,
  troubleDelivering,
  gmx,
  facebook,
  kddi,
  ezweb,
  fml,
  barracuda,
  amavis,
  interscanMss,
  mxlogic,
  bigfoot,
  biglobe,
  exchange2007,
  exchange2003,
  domino,
  messagingServer,
  mdaemon,
  imail,
  activehunter,
  apacheJames,
  mailfoundry,
  dragonfly,
  opensmtpd,
  courier,
  qmail,
  qmailClone,
  sendmail,
  postfix,
  exim,
  rfc3464,
  challenge,
  autoreply,
  bounceText,
];
