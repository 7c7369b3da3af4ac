namespace Ckpt.Merging;

/// <summary>
/// Finds the k-th largest |x| of a tensor seen in chunks without holding it: two radix passes over the
/// float bit patterns (for non-negative floats, bit order is value order), 16 high bits then 16 low bits.
/// Exact; values tied with the k-th largest are all kept, where mergekit's argsort keeps an arbitrary k.
/// </summary>
internal sealed class MagnitudeThreshold
{
    readonly long[] _histogram = new long[1 << 16];
    long _k, _remaining;
    uint _high;
    bool _keepAll, _keepNone;

    /// <summary>The bit pattern of the k-th largest magnitude; meaningful once both passes have ended.</summary>
    public uint ThresholdBits { get; private set; }

    public void Begin(long elementCount, long k)
    {
        Array.Clear(_histogram);
        _k = k;
        _keepAll = k >= elementCount;
        _keepNone = k <= 0;
    }

    public bool NeedsPasses => !_keepAll && !_keepNone;

    internal static uint MagnitudeBits(float x) => BitConverter.SingleToUInt32Bits(x) & 0x7FFF_FFFF;

    public void Observe(int pass, float value)
    {
        uint bits = MagnitudeBits(value);
        if (pass == 0) _histogram[bits >> 16]++;
        else if ((bits >> 16) == _high) _histogram[bits & 0xFFFF]++;
    }

    public void EndPass(int pass)
    {
        if (!NeedsPasses) return;
        long need = pass == 0 ? _k : _remaining;
        long above = 0;
        int bucket = _histogram.Length - 1;
        for (; bucket > 0; bucket--)
        {
            if (above + _histogram[bucket] >= need) break;
            above += _histogram[bucket];
        }
        if (pass == 0)
        {
            _high = (uint)bucket;
            _remaining = need - above;
            Array.Clear(_histogram);
        }
        else ThresholdBits = (_high << 16) | (uint)bucket;
    }

    public bool Keeps(float value) => _keepAll || (!_keepNone && MagnitudeBits(value) >= ThresholdBits);
}
