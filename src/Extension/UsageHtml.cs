using Ckpt.Cluster;
using Ckpt.Conversion;
using Ckpt.Forensics.Restor;
using Ckpt.Forensics.SmoothInv;
using Ckpt.Inspection;
using Ckpt.Merging;
using Ckpt.Models;
using Ckpt.Monitoring;
using Ckpt.Resharding;
using Ckpt.Resilience;
using Ckpt.Training;
using Ckpt.Verbs;

namespace Ckpt.Extension;

/// <summary>
/// What a notebook shows once the extension is loaded: the magics by group, each as the synopsis its verb declares
/// (<see cref="Ckpt.Verbs.Verb.MagicUsage"/>, the line its errors quote), so the listing is the catalog's, not a copy
/// of it. Every magic of <see cref="Ckpt.Verbs.VerbCatalog"/> must be in a group (UsageHtmlTests).
/// </summary>
static class UsageHtml
{
    static readonly (string Group, Verb[] Verbs)[] Groups =
    [
        ("Charts", [LayoutVerb.Definition, DiffVerb.Definition, StatsVerb.Definition, TimelineVerb.Definition, RecoveryVerb.Definition]),
        ("Rewriting", [ReshardVerb.Definition, ConvertVerb.Definition, FinalizeVerb.Definition, MergeVerb.Definition, LcscVerb.Definition]),
        ("Fine-tuning (LoRA/QLoRA, live loss chart; LibTorch is loaded on first use, <code>CKPT_LIBTORCH</code> picks another)",
            [FineTuningVerb.Definition, GenerateVerb.Definition]),
        ("Forensics", [RestorVerb.Definition, SmoothInvVerb.Definition]),
    ];

    /// <summary>The verbs listed, <c>#!ckpt-load</c> first.</summary>
    internal static IEnumerable<Verb> Verbs => [InspectVerb.Definition, .. Groups.SelectMany(g => g.Verbs)];

    public static string Render() =>
        $"<details><summary><code>Ckpt.Extension</code> is loaded: try {Code(InspectVerb.Definition)}</summary>" +
        "<p><code>#!ckpt-load</code> opens any supported checkpoint (safetensors, HF sharded indexes, torch.save, PyTorch DCP, " +
        "Megatron-LM, DeepSpeed ZeRO/UCP, ByteCheckpoint) " +
        "reading headers only, binds a <code>Ckpt.Checkpoint</code> C# variable and shows its tensors and files. " +
        string.Concat(Groups.Select(g => $"{g.Group}: {string.Join(", ", g.Verbs.Select(Code))}. ")) +
        "From C#: <code>var c = Ckpt.Checkpoint.Open(path); c.Read(name)</code>. Packages: <code>Ckpt.Kernel</code> (the engine), " +
        "<code>Ckpt.Extension</code> (this notebook layer), <code>Ckpt.Cli</code> (the <code>ckpt</code> tool).</p></details>";

    internal static string Code(Verb verb) => $"<code>{HtmlText.Encode(verb.MagicUsage ?? verb.Magic!)}</code>";
}
