namespace Ckpt.Extension;

/// <summary>
/// `#!ckpt-load &lt;path&gt; [--name var]`: opens a checkpoint (headers only), binds it to a C# variable and
/// displays its summary. Also sendable without the magic: <c>kernel.SendAsync(new LoadCheckpoint { Path = "..." })</c>.
/// </summary>
public sealed class LoadCheckpoint : KernelDirectiveCommand
{
    /// <summary>A checkpoint file or folder, relative to the notebook's working directory or absolute.</summary>
    public string Path { get; set; } = "";

    /// <summary>The C# variable to bind; by default derived from the file or folder name.</summary>
    public string? Name { get; set; }
}
