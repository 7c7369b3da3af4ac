namespace Ckpt.Forensics.SmoothInv;

/// <summary>What `ckpt smoothinv` was asked: a <see cref="Target"/>, or a scan of every class when it is null.</summary>
public sealed record SmoothInvRequest(string Classifier, string Image, int? Target, SmoothInvSettings Settings, string Output, bool Overwrite)
{
    public bool Scan => Target is null;
}
