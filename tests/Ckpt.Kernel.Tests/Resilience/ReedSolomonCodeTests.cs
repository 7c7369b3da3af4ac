using Ckpt.Resilience;

namespace Ckpt.Kernel.Tests.Resilience;

public class ReedSolomonCodeTests
{
    [Theory]
    [InlineData(4, 2, 10_007)]
    [InlineData(3, 3, 4_099)]
    [InlineData(6, 3, 1_000)]
    [InlineData(10, 4, 333)]
    [InlineData(1, 2, 77)]
    public void Every_choice_of_up_to_m_lost_shards_is_rebuilt_bit_exactly(int k, int m, int payloadLength)
    {
        var rng = new Random(k * 1000 + m);
        var payload = new byte[payloadLength];
        rng.NextBytes(payload);
        var split = PayloadSplit.For(payload.Length, k);
        var code = new ReedSolomonCode(k, m);
        var original = split.Split(payload, m);
        code.Encode(original);

        int cases = 0;
        foreach (var lost in Subsets(k + m, m))
        {
            var shards = original.Select(s => (byte[])s.Clone()).ToArray();
            var present = new bool[k + m];
            Array.Fill(present, true);
            foreach (var i in lost)
            {
                rng.NextBytes(shards[i]); // garbage, not zeros: decoding must not read a lost shard
                present[i] = false;
            }
            code.Reconstruct(shards, present);
            for (int i = 0; i < k + m; i++)
                Assert.True(original[i].AsSpan().SequenceEqual(shards[i]), $"shard {i} differs after losing [{string.Join(",", lost)}]");
            Assert.Equal(payload, split.Join(shards));
            cases++;
        }
        Assert.Equal(Enumerable.Range(0, m + 1).Sum(r => Binomial(k + m, r)), cases);
    }

    [Fact]
    public void Losing_more_than_m_shards_is_refused()
    {
        var code = new ReedSolomonCode(4, 2);
        var shards = Enumerable.Range(0, 6).Select(_ => new byte[64]).ToArray();
        code.Encode(shards);
        var present = new[] { true, false, true, false, false, true };
        Assert.Throws<InvalidOperationException>(() => code.Reconstruct(shards, present));
    }

    [Fact]
    public void Parity_matches_a_scalar_reference_including_the_vector_tail()
    {
        // 32-byte vector lanes plus a 7-byte scalar tail, checked against a plain GF(2^8) multiply
        var rng = new Random(5);
        var code = new ReedSolomonCode(5, 3);
        var shards = Enumerable.Range(0, 8).Select(_ => new byte[32 * 5 + 7]).ToArray();
        for (int i = 0; i < 5; i++) rng.NextBytes(shards[i]);
        code.Encode(shards);
        for (int p = 0; p < 3; p++)
        for (int b = 0; b < shards[0].Length; b++)
        {
            int expected = 0;
            for (int j = 0; j < 5; j++) expected ^= SlowMultiply(code.Coefficient(5 + p, j), shards[j][b]);
            Assert.Equal((byte)expected, shards[5 + p][b]);
        }
    }

    [Fact]
    public void Uneven_payloads_are_padded_into_equal_shards_and_the_padding_is_dropped_on_join()
    {
        var split = PayloadSplit.For(10, 4);
        Assert.Equal(3, split.ShardLength);
        var payload = Enumerable.Range(1, 10).Select(i => (byte)i).ToArray();
        var shards = split.Split(payload, 1);
        Assert.Equal(new byte[] { 10, 0, 0 }, shards[3]);
        Assert.Equal(payload, split.Join(shards));
    }

    static int SlowMultiply(int a, int b)
    {
        int p = 0;
        for (; b != 0; b >>= 1)
        {
            if ((b & 1) != 0) p ^= a;
            a <<= 1;
            if ((a & 0x100) != 0) a ^= 0x11D;
        }
        return p;
    }

    static IEnumerable<int[]> Subsets(int n, int maxSize)
    {
        for (int size = 0; size <= maxSize; size++)
            foreach (var s in Combinations(n, size, 0)) yield return s;
    }

    static IEnumerable<int[]> Combinations(int n, int size, int from)
    {
        if (size == 0) { yield return []; yield break; }
        for (int i = from; i <= n - size; i++)
            foreach (var rest in Combinations(n, size - 1, i + 1))
                yield return [i, .. rest];
    }

    static int Binomial(int n, int r) => r == 0 ? 1 : Binomial(n - 1, r - 1) * n / r;
}
