// signer_roots.mjs — the independent side of tests/e2e/test_signer_roots.py:
// computes the signing root of Web3Signer sign requests with @lodestar/types
// (the consensus types per fork, from their beacon-API JSON), @lodestar/params
// (domain types) and @lodestar/config (network fork versions), and its own
// compute_domain / compute_signing_root written with @chainsafe/ssz. No code
// shared with the C signer. Reads a JSON array of {network, request} on stdin,
// prints a JSON array of "0x…" roots (or {"error": "…"}).
import {ssz} from "@lodestar/types";
import * as P from "@lodestar/params";
import {mainnetChainConfig, sepoliaChainConfig, hoodiChainConfig, gnosisChainConfig} from "@lodestar/config/networks";
import {ContainerType, ByteVectorType, UintBigintType, UintNumberType, ListCompositeType, ListBasicType, VectorCompositeType} from "@chainsafe/ssz";

const ForkData = new ContainerType({current_version: new ByteVectorType(4), genesis_validators_root: new ByteVectorType(32)});
const SigningData = new ContainerType({object_root: new ByteVectorType(32), domain: new ByteVectorType(32)});

// holesky left @lodestar/config; its values from eth-clients/holesky metadata/config.yaml.
const holesky = {GENESIS_FORK_VERSION: hex("0x01017000"), CAPELLA_FORK_VERSION: hex("0x04017000"), DENEB_FORK_EPOCH: 29696};
const networks = {mainnet: mainnetChainConfig, sepolia: sepoliaChainConfig, holesky, hoodi: hoodiChainConfig, gnosis: gnosisChainConfig};
const slotsPerEpoch = {gnosis: 16}; // the gnosis preset; every other network uses the mainnet preset (32)
// @lodestar/types reads some uint64 fields (proposer_index, validator indices,
// gas_limit...) as JS numbers and refuses values over 2^53; the same types
// rebuilt with every uint64 as bigint have the same hash_tree_root and take
// every uint64 the specs allow.
const bigCache = new Map();
function big(t) {
  if (bigCache.has(t)) return bigCache.get(t);
  let r = t;
  if (t instanceof UintNumberType && t.byteLength === 8) r = new UintBigintType(8);
  else if (t instanceof ContainerType) {
    const fields = {};
    for (const [k, f] of Object.entries(t.fields)) fields[k] = big(f);
    r = new ContainerType(fields, {jsonCase: "eth2"});
  } else if (t instanceof ListCompositeType) r = new ListCompositeType(big(t.elementType), t.limit);
  else if (t instanceof ListBasicType) r = new ListBasicType(big(t.elementType), t.limit);
  else if (t instanceof VectorCompositeType) r = new VectorCompositeType(big(t.elementType), t.length);
  bigCache.set(t, r);
  return r;
}
const DOMAIN_APPLICATION_BUILDER = Uint8Array.from([0, 0, 0, 1]);

function hex(s) {
  if (!/^0x([0-9a-fA-F]{2})*$/.test(s)) throw new Error("bad hex " + s);
  return Uint8Array.from(Buffer.from(s.slice(2), "hex"));
}
const toHex = (b) => "0x" + Buffer.from(b).toString("hex");

function computeDomain(domainType, forkVersion, gvr) {
  const root = ForkData.hashTreeRoot({current_version: forkVersion, genesis_validators_root: gvr});
  const d = new Uint8Array(32);
  d.set(domainType, 0);
  d.set(root.subarray(0, 28), 4);
  return d;
}

function signingRoot(net, req) {
  const cfg = networks[net];
  const spe = BigInt(slotsPerEpoch[net] ?? 32);
  const fi = req.fork_info;
  const gvr = fi ? hex(fi.genesis_validators_root) : new Uint8Array(32);
  const at = (domainType, epoch) => {
    const f = fi.fork;
    const v = BigInt(epoch) < BigInt(f.epoch) ? f.previous_version : f.current_version;
    return computeDomain(domainType, hex(v), gvr);
  };
  const ep = (slot) => BigInt(slot) / spe;
  let obj, domain;
  switch (req.type) {
    case "BLOCK":
    case "BLOCK_V2": {
      const bb = req.type === "BLOCK" ? {version: "PHASE0", block: req.block} : req.beacon_block;
      const v = bb.version.toUpperCase();
      let slot;
      if (v === "PHASE0" || v === "ALTAIR") {
        const t = big(v === "PHASE0" ? ssz.phase0.BeaconBlock : ssz.altair.BeaconBlock);
        obj = t.hashTreeRoot(t.fromJson(bb.block));
        slot = bb.block.slot;
      } else {
        const t = big(ssz.phase0.BeaconBlockHeader);
        obj = t.hashTreeRoot(t.fromJson(bb.block_header));
        slot = bb.block_header.slot;
      }
      domain = at(P.DOMAIN_BEACON_PROPOSER, ep(slot));
      break;
    }
    case "ATTESTATION":
      obj = big(ssz.phase0.AttestationData).hashTreeRoot(big(ssz.phase0.AttestationData).fromJson(req.attestation));
      domain = at(P.DOMAIN_BEACON_ATTESTER, req.attestation.target.epoch);
      break;
    case "AGGREGATION_SLOT":
      obj = new UintBigintType(8).hashTreeRoot(BigInt(req.aggregation_slot.slot));
      domain = at(P.DOMAIN_SELECTION_PROOF, ep(req.aggregation_slot.slot));
      break;
    case "AGGREGATE_AND_PROOF":
    case "AGGREGATE_AND_PROOF_V2": {
      const ap = req.aggregate_and_proof;
      const versioned = ap.version !== undefined && ap.data !== undefined;
      const data = versioned ? ap.data : ap;
      const electra = versioned ? ["ELECTRA", "FULU"].includes(ap.version.toUpperCase()) : data.aggregate.committee_bits != null;
      const t = electra ? ssz.electra.AggregateAndProof : ssz.phase0.AggregateAndProof;
      obj = big(t).hashTreeRoot(big(t).fromJson(data));
      domain = at(P.DOMAIN_AGGREGATE_AND_PROOF, ep(data.aggregate.data.slot));
      break;
    }
    case "RANDAO_REVEAL":
      obj = new UintBigintType(8).hashTreeRoot(BigInt(req.randao_reveal.epoch));
      domain = at(P.DOMAIN_RANDAO, req.randao_reveal.epoch);
      break;
    case "DEPOSIT":
      obj = big(ssz.phase0.DepositMessage).hashTreeRoot(big(ssz.phase0.DepositMessage).fromJson(req.deposit));
      domain = computeDomain(P.DOMAIN_DEPOSIT, hex(req.deposit.genesis_fork_version), new Uint8Array(32));
      break;
    case "VOLUNTARY_EXIT": {
      const x = req.voluntary_exit;
      obj = big(ssz.phase0.VoluntaryExit).hashTreeRoot(big(ssz.phase0.VoluntaryExit).fromJson(x));
      domain = BigInt(x.epoch) >= BigInt(cfg.DENEB_FORK_EPOCH)
        ? computeDomain(P.DOMAIN_VOLUNTARY_EXIT, cfg.CAPELLA_FORK_VERSION, gvr) // EIP-7044
        : at(P.DOMAIN_VOLUNTARY_EXIT, x.epoch);
      break;
    }
    case "SYNC_COMMITTEE_MESSAGE":
      obj = ssz.Root.hashTreeRoot(hex(req.sync_committee_message.beacon_block_root));
      domain = at(P.DOMAIN_SYNC_COMMITTEE, ep(req.sync_committee_message.slot));
      break;
    case "SYNC_COMMITTEE_SELECTION_PROOF": {
      const t = big(ssz.altair.SyncAggregatorSelectionData);
      obj = t.hashTreeRoot(t.fromJson(req.sync_aggregator_selection_data));
      domain = at(P.DOMAIN_SYNC_COMMITTEE_SELECTION_PROOF, ep(req.sync_aggregator_selection_data.slot));
      break;
    }
    case "SYNC_COMMITTEE_CONTRIBUTION_AND_PROOF": {
      const t = big(ssz.altair.ContributionAndProof);
      obj = t.hashTreeRoot(t.fromJson(req.contribution_and_proof));
      domain = at(P.DOMAIN_CONTRIBUTION_AND_PROOF, ep(req.contribution_and_proof.contribution.slot));
      break;
    }
    case "VALIDATOR_REGISTRATION": {
      const t = big(ssz.bellatrix.ValidatorRegistrationV1);
      obj = t.hashTreeRoot(t.fromJson(req.validator_registration));
      domain = computeDomain(DOMAIN_APPLICATION_BUILDER, cfg.GENESIS_FORK_VERSION, new Uint8Array(32));
      break;
    }
    case "BLS_TO_EXECUTION_CHANGE": {
      const t = big(ssz.capella.BLSToExecutionChange);
      obj = t.hashTreeRoot(t.fromJson(req.BLS_TO_EXECUTION_CHANGE ?? req.bls_to_execution_change));
      domain = computeDomain(P.DOMAIN_BLS_TO_EXECUTION_CHANGE, cfg.GENESIS_FORK_VERSION, gvr);
      break;
    }
    default:
      throw new Error("unknown type " + req.type);
  }
  return toHex(SigningData.hashTreeRoot({object_root: obj, domain}));
}

let input = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (c) => (input += c));
process.stdin.on("end", () => {
  const out = JSON.parse(input).map(({network, request}) => {
    try {
      return signingRoot(network ?? "mainnet", request);
    } catch (e) {
      return {error: String(e.message ?? e)};
    }
  });
  process.stdout.write(JSON.stringify(out) + "\n");
});
