using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Operations;

namespace Ckpt.Tests.Tensors;

/// <summary>
/// Finds, with the C# compiler's semantic model, every place code hands LibTorch a TorchSharp Scalar that nothing
/// holds through the call. TorchSharp 0.107 passes <c>scalar.Handle</c> (an IntPtr) to P/Invoke and never calls
/// GC.KeepAlive, so once the handle is read the Scalar is garbage and its finalizer may delete the native
/// <c>at::Scalar</c> while the op still reads it. Three shapes make such a temporary:
/// <list type="bullet">
/// <item>a number converted to Scalar (implicitly, <c>(Scalar)x</c> or <c>ToScalar()</c>) anywhere but the initializer
/// of a <c>using</c> local or a field;</item>
/// <item>a Tensor operator with a number operand (<c>t * 2.0</c>, <c>1 - t</c>): TorchSharp converts it inside;</item>
/// <item>TorchSharp members that make their own Scalar: <c>add</c>/<c>add_</c> without alpha (alpha = 1), hence
/// <c>Tensor + Tensor</c> and <c>+=</c>; <c>addcdiv</c> without value; <c>arange</c> without step; the
/// <c>ToSingle()</c>/<c>ToDouble()</c> family; <c>linalg.vector_norm</c>/<c>matrix_norm</c> (ord).</item>
/// </list>
/// <c>Tensor * Tensor</c>, <c>Tensor - Tensor</c>, <c>Tensor / Tensor</c>, <c>torch.tensor(double)</c>, <c>item&lt;T&gt;()</c>
/// and methods taking plain doubles that TorchSharp marshals by value (dropout p, layer_norm eps) make no Scalar.
/// </summary>
internal static class TemporaryScalarScan
{
    public sealed record Finding(string File, int Line, string Code, string Reason)
    {
        public override string ToString() => $"{File}:{Line}: {Code}  ({Reason})";
    }

    /// <summary>Members that build a Scalar inside TorchSharp 0.107, by containing type, name and parameter count.</summary>
    static bool MakesItsOwnScalar(IMethodSymbol m)
    {
        var type = m.ContainingType?.Name;
        int n = m.Parameters.Length;
        bool firstTwoTensors = n >= 2 && m.Parameters[0].Type.Name == "Tensor" && m.Parameters[1].Type.Name == "Tensor";
        return (type, m.Name) switch
        {
            ("Tensor", "add" or "add_") => n == 1,
            ("torch", "add" or "add_") => n == 2,
            ("Tensor", "addcdiv" or "addcdiv_") => n == 2,
            ("torch", "addcdiv" or "addcdiv_") => n == 3 && firstTwoTensors,
            ("torch", "arange") => m.Parameters.Count(p => p.Type.Name == "Scalar") < 3,
            ("TensorExtensionMethods", "ToSingle" or "ToDouble" or "ToHalf" or "ToBFloat16" or "ToSByte" or "ToByte"
                or "ToInt16" or "ToInt32" or "ToInt64" or "ToBoolean" or "ToComplex32" or "ToComplex64"
                or "ToComplexFloat32" or "ToComplexFloat64") => true,
            ("linalg", "vector_norm" or "matrix_norm") => m.Parameters.Any(p => p.Name == "ord" && p.Type.Name != "String"),
            _ => false,
        };
    }

    static bool IsTorchSharp(ISymbol? s) => s?.ContainingAssembly?.Name == "TorchSharp";

    static bool IsScalar(ITypeSymbol? t) => t is { Name: "Scalar" } && IsTorchSharp(t);

    /// <summary>Scans the given sources (path relative to the repository, text), compiled against this process's assemblies.</summary>
    public static (IReadOnlyList<Finding> Findings, IReadOnlyList<Finding> Errors) Scan(IEnumerable<(string Path, string Text)> sources)
    {
        var options = new CSharpParseOptions(LanguageVersion.Preview);
        var trees = sources.Select(s => CSharpSyntaxTree.ParseText(s.Text, options, s.Path)).ToList();
        trees.Add(CSharpSyntaxTree.ParseText(ImplicitUsings, options, "ImplicitUsings.cs"));
        var compilation = CSharpCompilation.Create("Scanned", trees, References.Value,
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, allowUnsafe: true,
                nullableContextOptions: NullableContextOptions.Enable));
        // A body that does not bind (a missing reference, say) would hide its Scalars, so it fails the scan. Only bodies
        // are bound, not the whole compilation: source generators do not run here and binding is the scan's cost.
        var errors = new List<Finding>();
        var findings = new List<Finding>();
        // Every tree is compiled for its declarations, but only files that name TorchSharp, Tensor or Scalar are bound:
        // binding is the scan's cost, and tensor math on `var`s in a file that never names a tensor type is not written here.
        foreach (var tree in trees.Where(t => NamesTorch.IsMatch(t.GetText().ToString())))
        {
            var model = compilation.GetSemanticModel(tree);
            foreach (var node in tree.GetRoot().DescendantNodes())
            {
                if (node is not (MemberDeclarationSyntax or AccessorDeclarationSyntax or LocalFunctionStatementSyntax
                    or AnonymousFunctionExpressionSyntax))
                    continue;
                var body = node switch
                {
                    BaseMethodDeclarationSyntax b => (SyntaxNode?)b.Body ?? b.ExpressionBody,
                    AccessorDeclarationSyntax a => (SyntaxNode?)a.Body ?? a.ExpressionBody,
                    PropertyDeclarationSyntax p => (SyntaxNode?)p.ExpressionBody ?? p.Initializer,
                    FieldDeclarationSyntax f => f.Declaration,
                    _ => null,
                };
                if (body is null) continue;
                foreach (var op in OperationsUnder(model, body))
                {
                    var reason = op is IInvalidOperation ? "does not bind" : Reason(op);
                    if (reason is null) continue;
                    var line = op.Syntax.GetLocation().GetLineSpan().StartLinePosition.Line + 1;
                    (op is IInvalidOperation ? errors : findings).Add(new Finding(tree.FilePath, line, op.Syntax.ToString(), reason));
                }
            }
        }
        return (findings.Distinct().ToList(), errors);
    }

    static IEnumerable<IOperation> OperationsUnder(SemanticModel model, SyntaxNode body)
    {
        var roots = body switch
        {
            VariableDeclarationSyntax d => d.Variables.Select(v => v.Initializer).OfType<SyntaxNode>(),
            _ => [body],
        };
        foreach (var root in roots)
        {
            var op = model.GetOperation(root is ArrowExpressionClauseSyntax a ? a.Expression
                : root is EqualsValueClauseSyntax e ? e.Value : root);
            if (op is null) continue;
            foreach (var d in op.DescendantsAndSelf()) yield return d;
        }
    }

    static string? Reason(IOperation op)
    {
        switch (op)
        {
            case IConversionOperation { OperatorMethod: { } m } c when IsScalar(m.ReturnType) && !Held(c):
                return "temporary Scalar";
            case IInvocationOperation { TargetMethod: { Name: "ToScalar" } m } i when IsScalar(m.ReturnType) && !Held(i):
                return "temporary Scalar";
            case IInvocationOperation { TargetMethod: var m } when IsTorchSharp(m) && MakesItsOwnScalar(m):
                return $"{m.ContainingType.Name}.{m.Name} makes its own Scalar";
            case IBinaryOperation { OperatorMethod: { } m } when IsTorchSharp(m) && TensorOperatorMakesScalar(m):
                return $"Tensor operator {m.Name} makes its own Scalar";
            case ICompoundAssignmentOperation { OperatorMethod: { } m } when IsTorchSharp(m) && TensorOperatorMakesScalar(m):
                return $"Tensor operator {m.Name} makes its own Scalar";
            default:
                return null;
        }
    }

    /// <summary>Tensor ⊕ number converts the number inside; Tensor + Tensor is add(t) with alpha 1.</summary>
    static bool TensorOperatorMakesScalar(IMethodSymbol m) =>
        m.ContainingType.Name == "Tensor"
        && (m.Name == "op_Addition" || m.Parameters.Any(p => p.Type.Name != "Tensor"));

    /// <summary>True when the Scalar is the initializer of a using local, a using statement's resource or a field.</summary>
    static bool Held(IOperation scalar)
    {
        var syntax = scalar.Syntax;
        while (syntax.Parent is ParenthesizedExpressionSyntax or CastExpressionSyntax) syntax = syntax.Parent;
        if (syntax.Parent is not EqualsValueClauseSyntax { Parent: VariableDeclaratorSyntax { Parent: VariableDeclarationSyntax declaration } })
            return false;
        return declaration.Parent switch
        {
            LocalDeclarationStatementSyntax local => local.UsingKeyword.IsKind(SyntaxKind.UsingKeyword),
            UsingStatementSyntax => true,
            FieldDeclarationSyntax => true,
            _ => false,
        };
    }

    static readonly System.Text.RegularExpressions.Regex NamesTorch = new(@"TorchSharp|\bTensor\b|\bScalar\b");

    const string ImplicitUsings = """
        global using System;
        global using System.Collections.Generic;
        global using System.IO;
        global using System.Linq;
        global using System.Net.Http;
        global using System.Threading;
        global using System.Threading.Tasks;
        """;

    static readonly Lazy<IReadOnlyList<MetadataReference>> References = new(() =>
    {
        var platform = ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator);
        var local = Directory.GetFiles(AppContext.BaseDirectory, "*.dll");
        return platform.Concat(local)
            .Where(p => !Path.GetFileName(p).StartsWith("Ckpt.", StringComparison.Ordinal))
            .GroupBy(Path.GetFileName).Select(g => g.First())
            .Select(p => { try { return (MetadataReference?)MetadataReference.CreateFromFile(p); } catch (BadImageFormatException) { return null; } })
            .OfType<MetadataReference>()
            .ToList();
    });
}
