using Ckpt.Resilience;

namespace Ckpt.Kernel.Tests.Resilience;

public class PeerGroupTests
{
    static byte[][] Snapshots(int peers, int seed, bool uneven)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, peers).Select(p =>
        {
            var s = new byte[uneven ? 1000 + 37 * p + rng.Next(50) : 4096];
            rng.NextBytes(s);
            return s;
        }).ToArray();
    }

    [Theory]
    [InlineData(6, 2, false)]
    [InlineData(6, 2, true)]
    [InlineData(4, 1, true)]
    [InlineData(5, 3, true)]
    [InlineData(8, 3, false)]
    public void Any_m_lost_peers_get_their_snapshots_and_parity_back_bit_exactly(int peers, int parity, bool uneven)
    {
        var snapshots = Snapshots(peers, peers * 10 + parity, uneven);
        var reference = new PeerGroup(peers, parity);
        reference.Protect(snapshots.Select(s => (byte[])s.Clone()).ToArray());
        var referenceParity = reference.Peers.Select(p => p.Parity.Select(b => b!.ToArray()).ToArray()).ToArray();

        int cases = 0;
        for (int mask = 1; mask < 1 << peers; mask++)
        {
            int lostCount = System.Numerics.BitOperations.PopCount((uint)mask);
            if (lostCount > parity) continue;
            var group = new PeerGroup(peers, parity);
            group.Protect(snapshots.Select(s => (byte[])s.Clone()).ToArray());
            for (int r = 0; r < peers; r++) if ((mask & (1 << r)) != 0) group.Fail(r);
            Assert.Equal(lostCount, group.Peers.Count(p => !p.Alive));

            group.Recover();
            for (int r = 0; r < peers; r++)
            {
                Assert.True(group.Peers[r].Alive);
                Assert.Equal(snapshots[r], group.Peers[r].Snapshot);
                for (int j = 0; j < parity; j++) Assert.Equal(referenceParity[r][j], group.Peers[r].Parity[j]);
            }
            cases++;
        }
        int expected = 0;
        for (int mask = 1; mask < 1 << peers; mask++) if (System.Numerics.BitOperations.PopCount((uint)mask) <= parity) expected++;
        Assert.Equal(expected, cases);
        Assert.True(cases >= peers);
    }

    [Fact]
    public void Each_peer_keeps_only_m_parity_blocks_of_one_kth_of_the_largest_snapshot()
    {
        var group = new PeerGroup(6, 2);
        group.Protect(Snapshots(6, 1, uneven: false));
        Assert.Equal(2 * 4096 / 4, group.ParityBytesPerPeer);
        Assert.All(group.Peers, p => Assert.Equal(2, p.Parity.Length));
    }

    [Fact]
    public void Losing_more_than_m_peers_is_reported_not_guessed()
    {
        var group = new PeerGroup(5, 2);
        group.Protect(Snapshots(5, 2, uneven: true));
        group.Fail(0);
        group.Fail(2);
        group.Fail(4);
        var e = Assert.Throws<InvalidOperationException>(group.Recover);
        Assert.Contains("3 peers are lost", e.Message);
    }
}
