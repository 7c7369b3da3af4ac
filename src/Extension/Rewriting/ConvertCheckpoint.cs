namespace Ckpt.Extension.Rewriting;

/// <summary>
/// `#!ckpt-convert &lt;path&gt; --to safetensors|dcp|torch --out dir [...]`: the options of `ckpt convert`, from <see cref="Ckpt.Conversion.ConvertVerb"/>. It carries
/// no copy of them: the handler reads the line through <see cref="Directives.VerbDirective"/>.
/// </summary>
public sealed class ConvertCheckpoint : KernelDirectiveCommand;
