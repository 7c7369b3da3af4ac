using Ckpt.Training;
using static TorchSharp.torch;

namespace Ckpt.Tests.Training;

/// <summary>
/// NF4 against an independent scalar implementation of the bitsandbytes rules written here: the code table
/// (bnb get_4bit_type("nf4")), blocks of 64 with a short last block, nearest code by midpoints with strict &gt;,
/// high-nibble-first packing, and double quantization of absmax in blocks of 256.
/// </summary>
public class Nf4Tests
{
    static readonly float[] Table =
    [
        -1.0f, -0.6961928009986877f, -0.5250730514526367f, -0.39491748809814453f, -0.28444138169288635f,
        -0.18477343022823334f, -0.09105003625154495f, 0.0f, 0.07958029955625534f, 0.16093020141124725f,
        0.24611230194568634f, 0.33791524171829224f, 0.44070982933044434f, 0.5626170039176941f, 0.7229568362236023f, 1.0f,
    ];

    static int Nearest(float x, float[] code)
    {
        int idx = 0;
        for (int i = 0; i < code.Length - 1; i++)
            if (x > (code[i] + code[i + 1]) / 2f) idx = i + 1;
        return idx;
    }

    static (byte[] Packed, float[] Absmax) ScalarQuantize(float[] w, int block)
    {
        int blocks = (w.Length + block - 1) / block;
        var absmax = new float[blocks];
        var codes = new int[w.Length];
        for (int b = 0; b < blocks; b++)
        {
            int end = Math.Min(w.Length, (b + 1) * block);
            for (int i = b * block; i < end; i++) absmax[b] = Math.Max(absmax[b], Math.Abs(w[i]));
            for (int i = b * block; i < end; i++)
                codes[i] = absmax[b] == 0 ? 7 : Nearest(Math.Clamp(w[i] / absmax[b], -1f, 1f), Table);
        }
        var packed = new byte[(w.Length + 1) / 2];
        for (int i = 0; i < w.Length; i++)
            packed[i / 2] |= (byte)(i % 2 == 0 ? codes[i] << 4 : codes[i]);
        return (packed, absmax);
    }

    static float[] RandomWeights(int n, int seed)
    {
        var rng = new Random(seed);
        var w = new float[n];
        for (int i = 0; i < n; i++)
        {
            // Box-Muller normal, with a few outliers so that blocks have different absmax.
            double g = Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());
            w[i] = (float)(g * 0.02 * (i % 97 == 0 ? 10 : 1));
        }
        for (int i = 128; i < 192; i++) w[i] = 0; // an all-zero block
        return w;
    }

    [Fact]
    public void The_code_table_is_bitsandbytes_nf4()
    {
        Assert.Equal(Table, Nf4.Code);
    }

    [Fact]
    public void Codes_and_block_absmax_match_the_scalar_rules_including_a_short_last_block()
    {
        var w = RandomWeights(200 * 99 + 1, 1); // odd count: the last byte holds one code; last block short
        using var t = tensor(w).reshape(1, w.Length);
        using var q = Nf4.Quantize(t, doubleQuant: false);
        var (packed, absmax) = ScalarQuantize(w, 64);
        Assert.Equal(packed, q.Packed.data<byte>().ToArray());
        Assert.Equal(absmax, q.Absmax!.data<float>().ToArray());
        Assert.Equal(0.5 + 4.0 / 64, q.StorageBytes / (double)w.Length, 2);
    }

    [Fact]
    public void Dequantization_is_code_times_block_absmax()
    {
        var w = RandomWeights(64 * 40 + 10, 2);
        using var t = tensor(w);
        using var q = Nf4.Quantize(t, doubleQuant: false);
        var (packed, absmax) = ScalarQuantize(w, 64);
        using var deq = q.Dequantize();
        var actual = deq.data<float>().ToArray();
        for (int i = 0; i < w.Length; i++)
        {
            int code = i % 2 == 0 ? packed[i / 2] >> 4 : packed[i / 2] & 15;
            Assert.Equal(Table[code] * absmax[i / 64], actual[i]);
            // Nearest-code rounding: the error is at most half the widest gap of the table (0.16) times the absmax.
            Assert.True(Math.Abs(actual[i] - w[i]) <= 0.1617 * absmax[i / 64] + 1e-7);
        }
    }

    [Fact]
    public void Double_quantization_stores_absmax_minus_its_mean_as_dynamic_map_codes_in_blocks_of_256()
    {
        var w = RandomWeights(64 * 600 + 17, 3); // 601 blocks: 3 nested blocks, the last one short
        using var t = tensor(w);
        using var q = Nf4.Quantize(t);
        var (packed, absmax) = ScalarQuantize(w, 64);
        Assert.Equal(packed, q.Packed.data<byte>().ToArray());

        Assert.Equal(absmax.Select(a => (double)a).Average(), q.Offset, 6);
        var dyn = Nf4.DynamicMap();
        Assert.Equal(256, dyn.Length);
        Assert.Equal(1f, dyn[^1]);
        Assert.Contains(0f, dyn);
        Assert.True(dyn.Zip(dyn.Skip(1)).All(p => p.First < p.Second));

        var codes = q.QuantizedAbsmax!.data<byte>().ToArray();
        var nested = q.NestedAbsmax!.data<float>().ToArray();
        Assert.Equal(3, nested.Length);
        for (int b = 0; b < 3; b++)
        {
            int end = Math.Min(absmax.Length, (b + 1) * 256);
            float scale = 0;
            for (int i = b * 256; i < end; i++) scale = Math.Max(scale, Math.Abs(absmax[i] - q.Offset));
            Assert.Equal(scale, nested[b]);
            for (int i = b * 256; i < end; i++)
                Assert.Equal(Nearest(Math.Clamp((absmax[i] - q.Offset) / scale, -1f, 1f), dyn), codes[i]);
        }
        using var recovered = q.BlockAbsmax();
        var rec = recovered.data<float>().ToArray();
        for (int i = 0; i < absmax.Length; i++)
            Assert.Equal(dyn[codes[i]] * nested[i / 256] + q.Offset, rec[i], 6);
        Assert.True(q.StorageBytes / (double)w.Length <= 0.53);
    }
}
