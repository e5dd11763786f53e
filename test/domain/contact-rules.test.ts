import { expect } from 'chai';
import { applySignal, unbounce, type ContactSnapshot, type Signal } from '../../src/domain/contact-rules.js';

const fresh: ContactSnapshot = { state: 'active', softCampaigns: [], complained: false };
const soft = (campaignId: string): Signal => ({ kind: 'bounce', type: 'soft', campaignId });
const hard = (campaignId: string): Signal => ({ kind: 'bounce', type: 'hard', campaignId });

function run(signals: Signal[], threshold = 3, start = fresh): ContactSnapshot {
  return signals.reduce((c, s) => applySignal(c, s, threshold).next, start);
}

describe('contact rules', () => {
  it('marks a contact bounced at once on a hard bounce, with a suppression', () => {
    const out = applySignal(fresh, hard('c1'));
    expect(out.next.state).to.equal('bounced');
    expect(out.suppress).to.equal('hard_bounce');
    expect(out.counted).to.equal(true);
  });

  it('marks a contact bounced after soft bounces on 3 distinct campaigns in a row', () => {
    expect(run([soft('c1'), soft('c2')]).state).to.equal('active');
    const out = applySignal(run([soft('c1'), soft('c2')]), soft('c3'));
    expect(out.next.state).to.equal('bounced');
    expect(out.suppress).to.equal('soft_bounces');
  });

  it('counts several soft bounces of one campaign once', () => {
    const c = run([soft('c1'), soft('c1'), soft('c2'), soft('c2'), soft('c1')]);
    expect(c.state).to.equal('active');
    expect(c.softCampaigns).to.deep.equal(['c1', 'c2']);
    expect(applySignal(run([soft('c1')]), soft('c1')).counted).to.equal(false);
  });

  it('restarts the row after a delivery signal', () => {
    const c = run([soft('c1'), soft('c2'), { kind: 'delivery' }, soft('c3'), soft('c4')]);
    expect(c.state).to.equal('active');
    expect(c.softCampaigns).to.deep.equal(['c3', 'c4']);
  });

  it('never counts a delay', () => {
    const c = run([soft('c1'), { kind: 'delay' }, { kind: 'delay' }, soft('c2')]);
    expect(c.softCampaigns).to.deep.equal(['c1', 'c2']);
    expect(applySignal(fresh, { kind: 'delay' }).events).to.have.length(0);
  });

  it('honours a configured threshold', () => {
    expect(run([soft('a'), soft('b'), soft('c')], 5).state).to.equal('active');
    expect(run([soft('a'), soft('b'), soft('c'), soft('d'), soft('e')], 5).state).to.equal('bounced');
    expect(run([soft('a')], 1).state).to.equal('bounced');
  });

  it('never clears bounced on any signal', () => {
    const bounced = run([hard('c1')]);
    for (const s of [{ kind: 'delivery' } as Signal, soft('c2'), { kind: 'complaint' } as Signal]) {
      expect(applySignal(bounced, s).next.state).to.equal('bounced');
    }
  });

  it('suppresses a complaint once, without touching the bounce state', () => {
    const out = applySignal(fresh, { kind: 'complaint' });
    expect(out.suppress).to.equal('complaint');
    expect(out.next).to.include({ state: 'active', complained: true });
    expect(applySignal(out.next, { kind: 'complaint' }).suppress).to.equal(null);
  });

  it('lets only an operator with a reason reverse a bounce', () => {
    const bounced = run([hard('c1')]);
    expect(() => unbounce(bounced, ' ', 'ops')).to.throw(/reason/);
    expect(() => unbounce(bounced, 'address verified', '')).to.throw(/operator/);
    expect(() => unbounce(fresh, 'x', 'ops')).to.throw(/not bounced/);
    const out = unbounce(bounced, 'address verified by phone', 'maria');
    expect(out.next.state).to.equal('active');
    expect(out.events[0]!.detail).to.equal('by maria: address verified by phone');
  });
});
