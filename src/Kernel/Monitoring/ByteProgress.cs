namespace Ckpt.Monitoring;

/// <summary>
/// How far a long write has got: bytes written so far of the bytes it will write. convert, reshard, merge and
/// `bench generate` report one after every tensor (or chunk) written, from the writer's worker thread.
/// </summary>
public sealed record ByteProgress(string Operation, long Done, long Total)
{
    public double Fraction => Total <= 0 ? 1 : Math.Clamp((double)Done / Total, 0, 1);
}
