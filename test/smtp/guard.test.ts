import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ENVIRONMENT } from '../../src/config.js';
import { ClientTracker, networkOf, subnetOf } from '../../src/smtp/guard.js';

describe('client tracker', () => {
  const limits = { maxConnectionsPerIp: 2, maxRefusedRcptPerIp: 3, refusedRcptWindowMs: 1000 };

  it('admits connections from an address up to its limit, and again once one is released', () => {
    const t = new ClientTracker(limits);
    expect(t.admit('10.0.0.1', 0)).to.equal('ok');
    expect(t.admit('10.0.0.1', 0)).to.equal('ok');
    expect(t.admit('10.0.0.1', 0)).to.equal('too-many-connections');
    expect(t.admit('10.0.0.2', 0)).to.equal('ok');
    t.release('10.0.0.1');
    expect(t.admit('10.0.0.1', 0)).to.equal('ok');
    expect(t.connections('10.0.0.1')).to.equal(2);
  });

  it('blocks an address from its third refusal within the window until the oldest refusal leaves it', () => {
    const t = new ClientTracker(limits);
    expect(t.refuse('10.0.0.1', 0)).to.equal(false);
    expect(t.refuse('10.0.0.1', 400)).to.equal(false);
    expect(t.blocked('10.0.0.1', 500)).to.equal(false);
    expect(t.refuse('10.0.0.1', 800)).to.equal(true);
    expect(t.blocked('10.0.0.1', 999)).to.equal(true);
    expect(t.admit('10.0.0.1', 999)).to.equal('too-many-refusals');
    expect(t.blocked('10.0.0.2', 999)).to.equal(false);
    // At 1000 the refusal of time 0 is out of the window.
    expect(t.blocked('10.0.0.1', 1000)).to.equal(false);
    expect(t.admit('10.0.0.1', 1000)).to.equal('ok');
  });

  it('counts refusals per IPv6 /64, connections per address', () => {
    const t = new ClientTracker(limits);
    t.refuse('2001:db8:1:2::a', 0);
    t.refuse('2001:db8:1:2:ffff:1:2:3', 10);
    expect(t.blocked('2001:db8:1:2::b', 20)).to.equal(false);
    expect(t.refuse('2001:0db8:0001:0002:0:0:0:c', 20)).to.equal(true);
    expect(t.admit('2001:db8:1:2::1234', 30)).to.equal('too-many-refusals');
    expect(t.blocked('2001:db8:1:3::a', 30)).to.equal(false);
    expect(t.trackedAddresses).to.equal(1);
    // Connections: two per address, whatever the network.
    for (const a of ['2001:db8:1:3::1', '2001:db8:1:3::1', '2001:db8:1:3::2', '2001:db8:1:3::2']) expect(t.admit(a, 40)).to.equal('ok');
    expect(t.admit('2001:db8:1:3::1', 40)).to.equal('too-many-connections');
  });

  it('counts connections per network as well, an IPv4 /24 and an IPv6 /64 by default', () => {
    const t = new ClientTracker({ ...limits, maxConnectionsPerNetwork: 3 });
    for (const a of ['192.0.2.1', '192.0.2.1', '::ffff:192.0.2.200']) expect(t.admit(a, 0)).to.equal('ok');
    expect(t.admit('192.0.2.77', 0)).to.equal('too-many-from-network');
    expect(t.admit('192.0.3.1', 0)).to.equal('ok');
    expect(t.networkConnections('192.0.2.9')).to.equal(3);
    t.release('192.0.2.1');
    expect(t.admit('192.0.2.77', 0)).to.equal('ok');
    for (const a of ['2001:db8:1:2::1', '2001:db8:1:2::2', '2001:db8:1:2:ffff::3']) expect(t.admit(a, 0)).to.equal('ok');
    expect(t.admit('2001:db8:1:2::4', 0)).to.equal('too-many-from-network');
    expect(t.admit('2001:db8:1:3::4', 0)).to.equal('ok');
    // A new prefix length applies to new networks; connections open stay counted where they were.
    t.update({ ...limits, maxConnectionsPerNetwork: 3, networkPrefixV4: 32 });
    expect(t.admit('192.0.2.1', 0)).to.equal('too-many-from-network');
    expect(t.admit('192.0.2.5', 0)).to.equal('ok');
  });

  it('names the network connections are counted in', () => {
    expect(subnetOf('192.0.2.7', 24, 64)).to.equal('192.0.2.0/24');
    expect(subnetOf('::ffff:192.0.2.7', 24, 64)).to.equal('192.0.2.0/24');
    expect(subnetOf('192.0.2.7', 32, 64)).to.equal('192.0.2.7/32');
    expect(subnetOf('2001:DB8:0:1:2:3:4:5', 24, 64)).to.equal('2001:db8:0:1::/64');
    expect(subnetOf('2001:db8:0:1:2:3:4:5', 24, 48)).to.equal('2001:db8::/48');
    expect(subnetOf('fe80::1%eth0', 24, 64)).to.equal('fe80::/64');
    expect(subnetOf('not an address', 24, 64)).to.equal('not an address');
  });

  it('names the network of an address', () => {
    expect(networkOf('192.0.2.7')).to.equal('192.0.2.7');
    expect(networkOf('::ffff:192.0.2.7')).to.equal('192.0.2.7');
    expect(networkOf('2001:DB8:0:1::5')).to.equal('2001:db8:0:1::/64');
    expect(networkOf('fe80::1%eth0')).to.equal('fe80:0:0:0::/64');
    expect(networkOf('::1')).to.equal('0:0:0:0::/64');
    expect(networkOf('not an address')).to.equal('not an address');
  });

  it('applies new limits to the addresses it already counts', () => {
    const t = new ClientTracker(limits);
    t.refuse('10.0.0.1', 0);
    t.update({ ...limits, maxRefusedRcptPerIp: 1 });
    expect(t.blocked('10.0.0.1', 10)).to.equal(true);
  });

  it('forgets addresses whose refusals are all old, so memory stays bounded', () => {
    const t = new ClientTracker(limits);
    for (let i = 0; i < 1000; i++) t.refuse(`10.0.${i >> 8}.${i & 255}`, 0);
    expect(t.trackedAddresses).to.equal(1000);
    for (let i = 0; i < 1000; i++) t.blocked(`10.0.${i >> 8}.${i & 255}`, 5000);
    expect(t.trackedAddresses).to.equal(0);
  });
});

describe('configuration documentation', () => {
  it('lists every environment variable in the README configuration table', () => {
    const readme = readFileSync(join(import.meta.dirname, '..', '..', 'README.md'), 'utf8');
    const missing = ENVIRONMENT.map(([name, path]) => [name, path] as const).filter(([name, path]) => !readme.includes(`\`${name}\``) || !readme.includes(`\`${path}\``));
    expect(missing).to.deep.equal([]);
  });
});
