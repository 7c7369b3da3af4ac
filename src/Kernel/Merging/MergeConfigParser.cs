using Ckpt.Formats.Text;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Ckpt.Merging;

/// <summary>
/// Reads mergekit's YAML config shape for the methods Ckpt implements:
/// <code>
/// merge_method: ties            # linear | slerp | task_arithmetic | ties | dare_linear | dare_ties
/// base_model: ./base            # task-vector methods; for slerp, the t = 0 end
/// models:
///   - model: ./a
///     parameters: {weight: 0.5, density: 0.5}
/// parameters: {lambda: 1.0, normalize: true, rescale: true, t: 0.5, density: 0.5, weight: 1.0, random_seed: 0}
/// dtype: bfloat16
/// </code>
/// Every key is checked; an unknown or malformed one is an error that names it (`models[1].parameters.weight`).
/// A model listed with no parameters and equal to <c>base_model</c> is the base, as mergekit configs often write it.
/// Relative model paths are taken relative to the config file's folder. Method names come from <see cref="MergeMethods"/>;
/// <c>rescale</c> means what it means in mergekit today (<see cref="MergeMethod.MergekitRescale"/>), so DARE configs
/// rescale to the L1 norm by default, as mergekit does, not by 1/density.
/// </summary>
public static class MergeConfigParser
{
    static readonly string[] TopKeys = ["merge_method", "base_model", "models", "parameters", "dtype", "out_dtype", "random_seed"];
    static readonly string[] GlobalParameters = ["weight", "density", "lambda", "normalize", "t", "random_seed", "seed", "int8_mask", "rescale"];
    static readonly string[] ModelParameters = ["weight", "density"];

    public static MergeSpec ParseFile(string path) =>
        Parse(RegularFile.ReadAllText(path), path, Path.GetDirectoryName(Path.GetFullPath(path)));

    public static MergeSpec Parse(string yaml, string? source = null, string? baseDirectory = null)
    {
        var root = Load(yaml, source);
        CheckKeys(root, TopKeys, "", source);

        var methodText = Scalar(root, "merge_method", source) ?? throw Invalid(source, "merge_method", "is missing");
        if (!MergeMethods.TryParse(methodText, out var method))
            throw Invalid(source, "merge_method", "names a method Ckpt does not implement", MergeMethods.ConfigNames, methodText);

        var parameters = Mapping(root, "parameters", source);
        if (parameters is not null) CheckKeys(parameters, GlobalParameters, "parameters.", source);
        var rescaleText = parameters is null ? null : Scalar(parameters, "rescale", source, "parameters.");
        var rescale = method.MergekitRescale(rescaleText is null ? null : Bool(rescaleText, "parameters.rescale", source));
        double defaultWeight = Number(parameters, "weight", "parameters.", source) ?? 1.0;
        double? defaultDensity = Number(parameters, "density", "parameters.", source);

        string? baseModel = Scalar(root, "base_model", source) is { } b ? Resolve(b, baseDirectory) : null;
        if (!root.Children.TryGetValue(new YamlScalarNode("models"), out var modelsNode) || modelsNode is not YamlSequenceNode list)
            throw Invalid(source, "models", "must be a list of {model, parameters}");

        var models = new List<MergeInput>();
        int index = 0;
        foreach (var item in list)
        {
            string at = $"models[{index++}]";
            if (item is not YamlMappingNode m) throw Invalid(source, at, "must be a mapping with a 'model' key");
            CheckKeys(m, ["model", "parameters"], at + ".", source);
            var path = Scalar(m, "model", source, at + ".") ?? throw Invalid(source, at + ".model", "is missing");
            var p = Mapping(m, "parameters", source, at + ".");
            if (p is not null) CheckKeys(p, ModelParameters, at + ".parameters.", source);
            var resolved = Resolve(path, baseDirectory);
            if (p is null && baseModel is not null && resolved == baseModel && method.NeedsBase) continue;
            models.Add(new MergeInput(resolved,
                Number(p, "weight", at + ".parameters.", source) ?? defaultWeight,
                Number(p, "density", at + ".parameters.", source)));
        }

        if (method == MergeMethods.Slerp && baseModel is not null)
        {
            // mergekit's slerp: base_model is the t = 0 end, the other listed model the t = 1 end.
            var others = models.Where(m => m.Path != baseModel).ToList();
            if (others.Count != 1) throw Invalid(source, "models", "slerp needs the base model and exactly one other model", "1 other", others.Count.ToString());
            models = [new MergeInput(baseModel), others[0]];
        }

        var seedText = Scalar(root, "random_seed", source) ?? (parameters is null ? null
            : Scalar(parameters, "random_seed", source, "parameters.") ?? Scalar(parameters, "seed", source, "parameters."));
        ulong seed = 0;
        if (seedText is not null && !ulong.TryParse(seedText, NumberStyles.None, CultureInfo.InvariantCulture, out seed))
            throw Invalid(source, "random_seed", "must be a non-negative integer", found: seedText);

        DType? dtype = null;
        var dtypeText = Scalar(root, "out_dtype", source) ?? Scalar(root, "dtype", source);
        if (dtypeText is not null)
            dtype = ParseDType(dtypeText) ?? throw Invalid(source, root.Children.ContainsKey(new YamlScalarNode("out_dtype")) ? "out_dtype" : "dtype",
                "is not a float dtype Ckpt writes", "float32, bfloat16, float16 or float64", dtypeText);

        var normalizeText = parameters is null ? null : Scalar(parameters, "normalize", source, "parameters.");
        var spec = new MergeSpec
        {
            Method = method,
            Models = models,
            BaseModel = method == MergeMethods.Slerp ? null : baseModel,
            T = Number(parameters, "t", "parameters.", source) ?? 0.5,
            Density = defaultDensity ?? 1.0,
            Lambda = Number(parameters, "lambda", "parameters.", source) ?? 1.0,
            Normalize = normalizeText is null ? null : Bool(normalizeText, "parameters.normalize", source),
            Rescale = rescale,
            Seed = seed,
            OutputDType = dtype,
        };
        spec.Check(source);
        return spec;
    }

    static YamlMappingNode Load(string yaml, string? source)
    {
        var stream = new YamlStream();
        try { YamlLimits.Check(yaml, source, FormatErrorReason.MergeConfigInvalid); stream.Load(new StringReader(yaml)); }
        catch (YamlException e)
        {
            throw new CheckpointFormatException(FormatErrorReason.MergeConfigInvalid, source, null,
                $"the config is not valid YAML at line {e.Start.Line}, column {e.Start.Column} ({e.Message.TrimEnd('.')})", inner: e);
        }
        if (stream.Documents.Count == 0 || stream.Documents[0].RootNode is not YamlMappingNode root)
            throw new CheckpointFormatException(FormatErrorReason.MergeConfigInvalid, source, null, "the config must be a YAML mapping with a 'merge_method' key");
        return root;
    }

    static void CheckKeys(YamlMappingNode node, string[] allowed, string prefix, string? source)
    {
        foreach (var key in node.Children.Keys)
        {
            var name = (key as YamlScalarNode)?.Value ?? key.ToString();
            if (!allowed.Contains(name))
                throw Invalid(source, prefix + name, $"is not a key Ckpt understands here (line {key.Start.Line})",
                    string.Join(", ", allowed), name);
        }
    }

    static string? Scalar(YamlMappingNode node, string key, string? source, string prefix = "")
    {
        if (!node.Children.TryGetValue(new YamlScalarNode(key), out var value)) return null;
        if (value is not YamlScalarNode s || s.Value is null)
            throw Invalid(source, prefix + key, $"must be a single value (line {value.Start.Line}); per-tensor filters and gradients are not supported");
        return s.Value;
    }

    static YamlMappingNode? Mapping(YamlMappingNode node, string key, string? source, string prefix = "")
    {
        if (!node.Children.TryGetValue(new YamlScalarNode(key), out var value)) return null;
        if (value is YamlScalarNode { Value: null or "" }) return null;
        return value as YamlMappingNode ?? throw Invalid(source, prefix + key, $"must be a mapping (line {value.Start.Line})");
    }

    static double? Number(YamlMappingNode? node, string key, string prefix, string? source)
    {
        if (node is null) return null;
        var text = Scalar(node, key, source, prefix);
        if (text is null) return null;
        if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) || !double.IsFinite(v))
            throw Invalid(source, prefix + key, "must be a number", found: text);
        return v;
    }

    static bool Bool(string text, string key, string? source) => text.ToLowerInvariant() switch
    {
        "true" or "yes" or "on" => true,
        "false" or "no" or "off" => false,
        _ => throw Invalid(source, key, "must be true or false", found: text),
    };

    static DType? ParseDType(string text) => DTypeNames.TryParse(text, out var d) && d is DType.F32 or DType.BF16 or DType.F16 or DType.F64 ? d : null;

    static string Resolve(string path, string? baseDirectory) =>
        baseDirectory is null || Path.IsPathRooted(path) ? path : Path.GetFullPath(Path.Combine(baseDirectory, path));

    static CheckpointFormatException Invalid(string? source, string key, string detail, string? expected = null, string? found = null) =>
        MergeSpec.Invalid(source, key, detail, expected, found);
}
