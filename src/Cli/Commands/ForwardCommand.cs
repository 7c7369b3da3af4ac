using Ckpt.Models;

namespace Ckpt.Cli.Commands;

/// <summary>`ckpt forward`: the options of <see cref="ForwardVerb"/>, a call to <see cref="CausalLmForward.Run"/>, a summary line.</summary>
static class ForwardCommand
{
    public static Command Create(TextWriter stdout) => VerbCommand.Create(ForwardVerb.Definition, ForwardVerb.Bind, (r, _, cancellationToken) =>
    {
        var done = CausalLmForward.Run(r.Model, r.InputIds, r.Output, r.DType, r.Device, r.Config, cancellationToken, r.Adapter, r.Overwrite);
        stdout.WriteLine($"{done.ModelType} logits [{string.Join(", ", done.LogitsShape)}] computed in {done.ComputeDType} on {done.Device} " +
            $"(load {done.LoadTime.TotalSeconds:F2} s, forward {done.ForwardTime.TotalSeconds:F2} s) -> {done.OutputPath}");
    });
}
