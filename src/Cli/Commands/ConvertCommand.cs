namespace Ckpt.Cli.Commands;

/// <summary>`ckpt convert`: the options of <see cref="ConvertVerb"/>, a call to <see cref="CheckpointConverter.Convert"/>, a summary or JSON.</summary>
static class ConvertCommand
{
    public static Command Create(TextWriter stdout, Terminal? terminal) => VerbCommand.Create(ConvertVerb.Definition, ConvertVerb.Bind, (bound, asJson, cancellationToken) =>
    {
        var (path, options) = bound;
        using var ckpt = Checkpoint.Open(path);
        var (progress, bar) = ProgressBar.ForBytes(terminal, stdout);
        var result = CheckpointConverter.Convert(ckpt, options, cancellationToken, progress);
        bar?.Done();
        if (asJson) stdout.WriteLine(VerbJson.Serialize(result.ToJson()));
        else
        {
            if (options.Share is { } share)
                stdout.WriteLine($"wrote part {share.Rank} of {share.Ranks}; `ckpt finalize {options.OutputDirectory}` commits the output once every part exists");
            stdout.WriteLine($"wrote {result.TensorCount} tensors, {ByteSize.Format(result.BytesWritten)}, to {result.Files.Count} file(s) in {options.OutputDirectory}");
            if (result.MergedWeights > 0)
                stdout.WriteLine($"merged the LoRA adapter {options.MergeAdapter} into {result.MergedWeights} weights");
            if (result.CopiedFiles.Count > 0)
                stdout.WriteLine($"copied {string.Join(", ", result.CopiedFiles.Select(Path.GetFileName))}");
            if (result.SkippedObjects.Count > 0)
                stdout.WriteLine($"skipped {result.SkippedObjects.Count} non-tensor values ({(options.To == TargetFormat.Dcp ? "not plain data" : "this format holds tensors only")})");
        }
    });
}
