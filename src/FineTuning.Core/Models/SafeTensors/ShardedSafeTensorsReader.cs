using System;
using System.Collections.Generic;
using System.Diagnostics.CodeAnalysis;
using System.IO;
using static TorchSharp.torch;

namespace FineTuning.Models.SafeTensors;

/// <summary>
/// Reads a sharded safetensors checkpoint: a folder with <c>model.safetensors.index.json</c> and the shard
/// files its <c>weight_map</c> names. Opening validates that every shard exists, that every shard's header
/// is valid, and that the weight_map and the shards' headers list exactly the same tensors in the same
/// shards. Shard files stay open until disposed.
/// </summary>
public sealed class ShardedSafeTensorsReader : ISafeTensorsReader
{
    /// <summary>The index file name Hugging Face transformers writes.</summary>
    public const string DefaultIndexFileName = "model" + SafeTensorsWriter.IndexFileSuffix;

    private readonly SafeTensorsIndex _index;
    private readonly Dictionary<string, SafeTensorsReader> _shards;
    private readonly Dictionary<string, SafeTensorInfo> _byName;
    private readonly List<SafeTensorInfo> _tensors;

    private ShardedSafeTensorsReader(string indexPath, SafeTensorsIndex index, Dictionary<string, SafeTensorsReader> shards)
    {
        IndexPath = indexPath;
        _index = index;
        _shards = shards;
        _byName = new Dictionary<string, SafeTensorInfo>(StringComparer.Ordinal);
        _tensors = new List<SafeTensorInfo>(index.WeightMap.Count);
        foreach ((string name, string shard) in index.WeightMap)
        {
            SafeTensorInfo info = shards[shard].GetInfo(name);
            _byName.Add(name, info);
            _tensors.Add(info);
        }

        var files = new List<string>(shards.Keys);
        files.Sort(StringComparer.Ordinal);
        ShardFiles = files;
    }

    /// <summary>Opens the checkpoint in <paramref name="directory"/> and validates the index against the shards.</summary>
    /// <param name="directory">The checkpoint folder.</param>
    /// <param name="indexFileName">The index file's name inside <paramref name="directory"/>.</param>
    /// <returns>A reader that owns the open shard files.</returns>
    /// <exception cref="SafeTensorsFormatException">The index or a shard is malformed, a shard is missing, or they disagree.</exception>
    /// <exception cref="FileNotFoundException">The index does not exist.</exception>
    public static ShardedSafeTensorsReader Open(string directory, string indexFileName = DefaultIndexFileName)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        ArgumentException.ThrowIfNullOrEmpty(indexFileName);
        string indexPath = Path.Combine(directory, indexFileName);
        SafeTensorsIndex index = SafeTensorsIndex.Read(indexPath);
        var shards = new Dictionary<string, SafeTensorsReader>(StringComparer.Ordinal);
        try
        {
            foreach ((string name, string shard) in index.WeightMap)
            {
                if (shards.ContainsKey(shard)) continue;
                string shardPath = Path.Combine(directory, shard);
                if (!File.Exists(shardPath))
                {
                    throw new SafeTensorsFormatException(indexPath, name, $"its shard '{shard}' does not exist.");
                }

                shards.Add(shard, SafeTensorsReader.Open(shardPath));
            }

            CheckAgreement(indexPath, index, shards);
            return new ShardedSafeTensorsReader(indexPath, index, shards);
        }
        catch
        {
            foreach (SafeTensorsReader reader in shards.Values) reader.Dispose();
            throw;
        }
    }

    /// <summary>The index file.</summary>
    public string IndexPath { get; }

    /// <summary>The shard file names, in ordinal order.</summary>
    public IReadOnlyList<string> ShardFiles { get; }

    /// <summary>Tensor name to shard file name, as the index says (validated against the shards).</summary>
    public IReadOnlyDictionary<string, string> WeightMap => _index.WeightMap;

    /// <inheritdoc />
    public IReadOnlyList<SafeTensorInfo> Tensors => _tensors;

    /// <summary>
    /// The index's <c>metadata</c>: string values as they are, other JSON values (such as the number
    /// <c>total_size</c>) as their JSON text. Each shard's own <c>__metadata__</c> is on <see cref="GetShard"/>.
    /// </summary>
    public IReadOnlyDictionary<string, string> Metadata => _index.Metadata;

    /// <summary>The reader of one shard, owned by this reader.</summary>
    /// <param name="shardFile">A name from <see cref="ShardFiles"/>.</param>
    /// <returns>The shard's reader; do not dispose it.</returns>
    public SafeTensorsReader GetShard(string shardFile) =>
        _shards.TryGetValue(shardFile, out SafeTensorsReader? reader) ? reader : throw new KeyNotFoundException($"'{IndexPath}' has no shard '{shardFile}'.");

    /// <summary>Whether the checkpoint holds a tensor named <paramref name="name"/>.</summary>
    /// <param name="name">The tensor name.</param>
    /// <returns>True when the tensor exists.</returns>
    public bool Contains(string name) => _byName.ContainsKey(name);

    /// <inheritdoc />
    public bool TryGetInfo(string name, [NotNullWhen(true)] out SafeTensorInfo? info) => _byName.TryGetValue(name, out info);

    /// <inheritdoc />
    public Tensor Load(string name)
    {
        if (!_index.WeightMap.TryGetValue(name, out string? shard))
        {
            throw new KeyNotFoundException($"'{IndexPath}' has no tensor '{name}'.");
        }

        return _shards[shard].Load(name);
    }

    /// <inheritdoc />
    public Dictionary<string, Tensor> LoadAll() => LoadMany.All(_tensors, Load);

    /// <summary>Closes every shard file. Tensors already loaded stay valid.</summary>
    public void Dispose()
    {
        foreach (SafeTensorsReader reader in _shards.Values) reader.Dispose();
    }

    private static void CheckAgreement(string indexPath, SafeTensorsIndex index, Dictionary<string, SafeTensorsReader> shards)
    {
        foreach ((string name, string shard) in index.WeightMap)
        {
            if (!shards[shard].Contains(name))
            {
                throw new SafeTensorsFormatException(indexPath, name, $"weight_map puts it in shard '{shard}', whose header has no such tensor.");
            }
        }

        foreach ((string shard, SafeTensorsReader reader) in shards)
        {
            foreach (SafeTensorInfo info in reader.Tensors)
            {
                if (!index.WeightMap.TryGetValue(info.Name, out string? mapped))
                {
                    throw new SafeTensorsFormatException(indexPath, info.Name, $"shard '{shard}' holds it but weight_map does not list it.");
                }

                if (mapped != shard)
                {
                    throw new SafeTensorsFormatException(indexPath, info.Name, $"shard '{shard}' holds it but weight_map puts it in '{mapped}'.");
                }
            }
        }
    }
}
