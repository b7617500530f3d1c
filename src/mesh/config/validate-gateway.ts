/**
 * Gateway and Sidecar validation as Istio 1.27's webhook does it (pkg/config/validation/validation.go
 * `ValidateGateway`, `validateServer`, `validateTLSOptions`, `ValidateSidecar`), with Istio's messages.
 */
import { validateConnectionPool } from './validate-destinationrule.ts';
import { validateUnixAddress } from './validate-serviceentry.ts';
import { validateDestination } from './validate-http.ts';
import {
  isDNS1123Label, isHTTPProtocol, isTLSProtocol, parseProtocol, validateAlphaWorkloadSelector, validateFQDN,
  validateIPAddress, validateNamespaceSlashHost, validatePort, validatePortName, validateProtocolName,
} from './validate-names.ts';
import { arr, goList, goQuote, has, issue, Issues, type J, num, obj, protoText, str, strs } from './validate-util.ts';

const CIPHERS = new Set([
  'ECDHE-ECDSA-AES128-GCM-SHA256', 'ECDHE-RSA-AES128-GCM-SHA256', 'ECDHE-ECDSA-AES256-GCM-SHA384', 'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305', 'ECDHE-RSA-CHACHA20-POLY1305', 'ECDHE-ECDSA-AES128-SHA', 'ECDHE-RSA-AES128-SHA',
  'ECDHE-ECDSA-AES256-SHA', 'ECDHE-RSA-AES256-SHA', 'AES128-GCM-SHA256', 'AES256-GCM-SHA384', 'AES128-SHA', 'AES256-SHA',
  'DES-CBC3-SHA',
]);

function isValidCipher(cs: string): boolean {
  if (cs === '' || cs === 'ALL') return true;
  // Like Istio: anything not starting with a letter or digit (`-X`, `+X`) is an expression and passes.
  if (!/^[\p{L}\p{N}]/u.test(cs)) return true;
  return CIPHERS.has(cs);
}

/** `ValidateGateway`. */
export function validateGateway(name: string, spec: J, annotations: Record<string, string>): Issues {
  const gatewaySemantics = annotations['internal.istio.io/gateway-semantics'] === 'gateway';
  const v = new Issues();
  if (!isDNS1123Label(name) && !gatewaySemantics) v.error(`invalid gateway name: ${goQuote(name)}`);
  const servers = arr(spec.servers);
  if (servers.length === 0) v.error('gateway must have at least one server');
  else for (const s of servers) v.add(validateServer(obj(s), gatewaySemantics));
  const portNames = new Set<string>();
  for (const raw of servers) {
    const s = obj(raw);
    if (!s) {
      v.error('server may not be nil');
      continue;
    }
    const port = obj(s.port);
    if (port) {
      const pn = str(port.name);
      if (portNames.has(pn)) v.error(`port names in servers must be unique: duplicate name ${pn}`);
      portNames.add(pn);
      if (!isHTTPProtocol(parseProtocol(str(port.protocol))) && obj(s.tls)?.httpsRedirect === true) {
        v.warn('tls.httpsRedirect should only be used with http servers');
      }
    }
  }
  return v;
}

function validateServer(server: J | undefined, gatewaySemantics: boolean): Issues {
  if (!server) return issue('cannot have nil server');
  const v = new Issues();
  const hosts = strs(server.hosts);
  if (hosts.length === 0) v.error('server config must contain at least one host');
  else for (const h of hosts) v.addErrors(validateNamespaceSlashHost(h, true, gatewaySemantics));
  const port = obj(server.port);
  const bind = str(server.bind);
  const portErr = validateServerPort(port, bind);
  v.add(portErr);
  v.addErrors(validateServerBind(port, bind));
  const tls = obj(server.tls);
  v.add(validateTLSOptions(tls));
  if (portErr.errors.length === 0 && port) {
    const p = parseProtocol(str(port.protocol));
    if (isTLSProtocol(p) && !tls) v.error('server must have TLS settings for HTTPS/TLS protocols');
    else if (!isTLSProtocol(p) && tls) {
      if (isHTTPProtocol(p)) {
        const mode = str(tls.mode) || 'PASSTHROUGH';
        const passthrough = mode === 'PASSTHROUGH' || mode === 'AUTO_PASSTHROUGH';
        if (!passthrough || ['caCertificates', 'privateKey', 'serverCertificate'].some((k) => str(tls[k]) !== '')) {
          v.error('server cannot have TLS settings for plain text HTTP ports');
        }
      } else {
        v.error('server cannot have TLS settings for non HTTPS/TLS ports');
      }
    }
  }
  return v;
}

function validateServerPort(port: J | undefined, bind: string): Issues {
  if (!port) return issue('port is required');
  const errs = new Issues();
  const protocol = str(port.protocol);
  if (parseProtocol(protocol) === 'UnsupportedProtocol') {
    errs.error(`invalid protocol ${goQuote(protocol)}, supported protocols are HTTP, HTTP2, GRPC, GRPC-WEB, MONGO, REDIS, MYSQL, TCP`);
  }
  const number = num(port.number);
  if (number > 0 || !bind.startsWith('unix://')) {
    const e = validatePort(number);
    if (e) errs.error(e);
  }
  if (num(port.targetPort) > 0) errs.error('targetPort has no impact on Gateways');
  if (str(port.name) === '') errs.error(`port name must be set: ${portText(port)}`);
  return errs;
}

/** The port as Go's `%v` prints the proto message. */
function portText(port: J): string {
  return protoText([['number', num(port.number)], ['protocol', str(port.protocol)], ['name', str(port.name)], ['target_port', num(port.targetPort)]]);
}

function validateServerBind(port: J | undefined, bind: string): Issues {
  const errs = new Issues();
  if (bind.startsWith('unix://')) {
    const e = validateUnixAddress(bind.slice('unix://'.length));
    if (e) errs.error(e);
    if (port && num(port.number) !== 0) errs.error(`port number must be 0 for unix domain socket: ${portText(port)}`);
  } else if (bind.length !== 0) {
    const e = validateIPAddress(bind);
    if (e) errs.error(e);
  }
  return errs;
}

/** `validateTLSOptions` for server-side TLS (Gateway servers and Sidecar ingress). */
export function validateTLSOptions(tls: J | undefined): Issues {
  const v = new Issues();
  if (!tls) return v;
  const mode = str(tls.mode) || 'PASSTHROUGH';
  const minVersion = str(tls.minProtocolVersion);
  const ciphers = strs(tls.cipherSuites);
  if ((minVersion === 'TLSV1_0' || minVersion === 'TLSV1_1') && ciphers.length === 0) {
    v.warn('TLS version below TLSV1_2 require setting compatible ciphers as by default they no longer include compatible ciphers.');
  }
  const invalid = new Set<string>();
  const valid = new Set<string>();
  const dup = new Set<string>();
  for (const cs of ciphers) {
    if (!isValidCipher(cs)) invalid.add(cs);
    else if (valid.has(cs)) dup.add(cs);
    else valid.add(cs);
  }
  if (invalid.size > 0) v.warn(`ignoring invalid cipher suites: ${goList([...invalid].sort())}`);
  if (dup.size > 0) v.warn(`ignoring duplicate cipher suites: ${goList([...dup].sort())}`);

  const serverCert = str(tls.serverCertificate);
  const privateKey = str(tls.privateKey);
  const ca = str(tls.caCertificates);
  const credentialName = str(tls.credentialName);
  const credentialNames = strs(tls.credentialNames);
  const tlsCerts = arr(tls.tlsCertificates).map(obj);
  if (mode === 'ISTIO_MUTUAL') {
    if (serverCert !== '') v.error('ISTIO_MUTUAL TLS cannot have associated server certificate');
    if (privateKey !== '') v.error('ISTIO_MUTUAL TLS cannot have associated private key');
    if (ca !== '') v.error('ISTIO_MUTUAL TLS cannot have associated CA bundle');
    if (tlsCerts.length > 0) v.error('ISTIO_MUTUAL TLS cannot have associated tlsCertificates');
    if (credentialName !== '') v.error('ISTIO_MUTUAL TLS cannot have associated credentialName');
    if (credentialNames.length > 0) v.error('ISTIO_MUTUAL TLS cannot have associated credentialNames');
    return v;
  }
  if (mode === 'PASSTHROUGH' || mode === 'AUTO_PASSTHROUGH') {
    if (str(tls.caCrl) !== '' || serverCert !== '' || privateKey !== '' || ca !== '' || tlsCerts.length > 0 || credentialName !== '' || credentialNames.length > 0) {
      v.warn(`${mode} mode does not use certificates, they will be ignored`);
    }
  }
  let sources = 0;
  if (serverCert !== '' && privateKey !== '') sources++;
  if (credentialName !== '') sources++;
  if (credentialNames.length > 0) sources++;
  if (tlsCerts.length > 0) sources++;
  if (sources > 1) v.error('only one of credential_name, credential_names, server_certificate/private_key, tls_certificates should be specified');
  const terminating = mode === 'SIMPLE' || mode === 'MUTUAL' || mode === 'OPTIONAL_MUTUAL';
  if (terminating && (credentialName !== '' || credentialNames.length > 0)) return v;
  const certs = tlsCerts.length > 0
    ? tlsCerts.map((c) => ({ cert: str(c?.serverCertificate), key: str(c?.privateKey) }))
    : [{ cert: serverCert, key: privateKey }];
  if (terminating) {
    const prefix = mode === 'SIMPLE' ? 'SIMPLE TLS' : 'MUTUAL TLS';
    if (mode !== 'SIMPLE' && ca === '') v.error(`${prefix} requires a client CA bundle`);
    if (tlsCerts.length > 2) v.warn(`${prefix} can support up to 2 server certificates`);
    for (const c of certs) {
      if (c.cert === '') v.error(`${prefix} requires a server certificate`);
      if (c.key === '') v.error(`${prefix} requires a private key`);
    }
  }
  if (str(tls.caCrl) !== '') {
    if (credentialName !== '') v.error('CRL is not supported with credentialName. CRL has to be specified in the credential');
    if (mode === 'SIMPLE') v.error('CRL is not supported with SIMPLE TLS');
  }
  return v;
}

// ---------------------------------------------------------------------------------------------
// Sidecar.

/** Go's net.SplitHostPort: [host, port] or the AddrError text. */
function splitHostPort(hp: string): { host: string; port: string } | { error: string } {
  const bad = (why: string): { error: string } => ({ error: `address ${hp}: ${why}` });
  const i = hp.lastIndexOf(':');
  if (i < 0) return bad('missing port in address');
  let host: string;
  let j = 0;
  let k = 0;
  if (hp[0] === '[') {
    const end = hp.indexOf(']');
    if (end < 0) return bad("missing ']' in address");
    if (end + 1 === hp.length) return bad('missing port in address');
    if (end + 1 !== i) return bad(hp[end + 1] === ':' ? 'too many colons in address' : 'missing port in address');
    host = hp.slice(1, end);
    j = 1;
    k = end + 1;
  } else {
    host = hp.slice(0, i);
    if (host.includes(':')) return bad('too many colons in address');
  }
  if (hp.slice(j).includes('[')) return bad("unexpected '[' in address");
  if (hp.slice(k).includes(']')) return bad("unexpected ']' in address");
  return { host, port: hp.slice(i + 1) };
}

/** Go's strconv.Atoi, with its error text. */
function atoi(s: string): { n: number } | { error: string } {
  if (!/^[+-]?[0-9]+$/.test(s)) return { error: `strconv.Atoi: parsing ${goQuote(s)}: invalid syntax` };
  const n = Number(s);
  if (Math.abs(n) > 9223372036854775807) return { error: `strconv.Atoi: parsing ${goQuote(s)}: value out of range` };
  return { n };
}

function validateSidecarPort(port: J, bind: string, egress: boolean, captureMode: string): Issues {
  const errs = new Issues();
  const add = (e: string | undefined): void => void (e && errs.error(e));
  const name = str(port.name);
  if (name.length > 0) add(validatePortName(name));
  const number = num(port.number);
  if (egress && number === 0) {
    add(validateProtocolName(str(port.protocol)));
    if (!bind.startsWith('unix://')) add('sidecar: ports with 0 value must have a unix domain socket bind address');
    else add(validateUnixAddress(bind.slice('unix://'.length)));
    if (captureMode !== '' && captureMode !== 'DEFAULT' && captureMode !== 'NONE') {
      add('sidecar: captureMode must be DEFAULT/NONE for unix domain socket listeners');
    }
    return errs;
  }
  add(validateProtocolName(str(port.protocol)));
  add(validatePort(number));
  if (bind.length !== 0) add(validateIPAddress(bind));
  return errs;
}

/** `ValidateSidecar`. */
export function validateSidecar(namespace: string, spec: J): Issues {
  const errs = new Issues();
  const sel = validateAlphaWorkloadSelector(spec.workloadSelector);
  if (sel.errors.errors.length > 0) return sel.errors;
  if (sel.warning) errs.warn(`sidecar: ${sel.warning}, will be applied to all services in namespace`);
  const ingress = arr(spec.ingress);
  const egress = arr(spec.egress);
  if (ingress.length === 0 && egress.length === 0 && !has(spec.outboundTrafficPolicy) && !has(spec.inboundConnectionPool)) {
    return issue('sidecar: empty configuration provided');
  }
  let ports = new Set<number>();
  for (const raw of ingress) {
    const i = obj(raw);
    if (!i) {
      errs.error('sidecar: ingress may not be null');
      continue;
    }
    const port = obj(i.port);
    if (!port) {
      errs.error('sidecar: port is required for ingress listeners');
      continue;
    }
    if (num(port.targetPort) > 0) errs.error('targetPort has no impact on Sidecars');
    errs.addErrors(validateSidecarPort(port, str(i.bind), false, ''));
    if (ports.has(num(port.number))) errs.error('sidecar: ports on IP bound listeners must be unique');
    ports.add(num(port.number));
    const de = str(i.defaultEndpoint);
    if (de.length !== 0) {
      if (de.startsWith('unix://')) {
        const e = validateUnixAddress(de.slice('unix://'.length));
        if (e) errs.error(e);
      } else {
        const hp = splitHostPort(de);
        const host = 'error' in hp ? '' : hp.host;
        const p = 'error' in hp ? '' : hp.port;
        if ('error' in hp) errs.error(hp.error);
        if (host !== '' && !['127.0.0.1', '0.0.0.0', '::1', '::'].includes(host)) {
          errs.error('sidecar: defaultEndpoint must be of form 127.0.0.1:<port>,0.0.0.0:<port>,[::1]:port,[::]:port,unix://filepath or unset');
        }
        const n = atoi(p);
        if ('error' in n) errs.error(`sidecar: defaultEndpoint port (${p}) is not a number: ${n.error}`);
        else {
          const e = validatePort(n.n);
          if (e) errs.error(e);
        }
      }
    }
    const tls = obj(i.tls);
    if (tls) {
      if (strs(tls.subjectAltNames).length > 0) errs.error('sidecar: subjectAltNames is not supported in ingress tls');
      if (tls.httpsRedirect === true) errs.error('sidecar: httpsRedirect is not supported');
      if (str(tls.credentialName) !== '') errs.error('sidecar: credentialName is not currently supported');
      if (strs(tls.credentialNames).length > 0) errs.error('sidecar: credentialNames is not currently supported');
      if (arr(tls.tlsCertificates).length > 0) errs.error('sidecar: tls_certificates is not currently supported');
      const mode = str(tls.mode) || 'PASSTHROUGH';
      if (mode === 'ISTIO_MUTUAL' || mode === 'AUTO_PASSTHROUGH') {
        errs.error(`configuration is invalid: cannot set mode to ${mode} in sidecar ingress tls`);
      }
      if (!isTLSProtocol(parseProtocol(str(port.protocol)))) errs.error('server cannot have TLS settings for non HTTPS/TLS ports');
      errs.add(validateTLSOptions(tls));
    }
    const pool = obj(i.connectionPool);
    errs.add(validateConnectionPool(pool));
    if (pool && obj(pool.http) && !isHTTPProtocol(parseProtocol(str(port.protocol)))) {
      errs.warn(`sidecar: HTTP connection pool settings are configured for port ${num(port.number)} (${goQuote(str(port.name))}) but its protocol is not HTTP (${str(port.protocol)}); only TCP settings will apply`);
    }
  }
  errs.add(validateConnectionPool(obj(spec.inboundConnectionPool)));

  ports = new Set<number>();
  const uds = new Set<string>();
  let catchAll = false;
  egress.forEach((raw, index) => {
    const e = obj(raw);
    if (!e) {
      errs.error('egress listener may not be null');
      return;
    }
    const port = obj(e.port);
    if (!port) {
      if (!catchAll) {
        if (index === egress.length - 1) catchAll = true;
        else errs.error('sidecar: the egress listener with empty port should be the last listener in the list');
      } else {
        errs.error('sidecar: egress can have only one listener with empty port');
        return;
      }
    } else {
      if (num(port.targetPort) > 0) errs.error('targetPort has no impact on Sidecars');
      const bind = str(e.bind);
      errs.addErrors(validateSidecarPort(port, bind, true, str(e.captureMode)));
      if (num(port.number) === 0) {
        if (uds.has(bind)) errs.error('sidecar: unix domain socket values for listeners must be unique');
        uds.add(bind);
      } else {
        if (ports.has(num(port.number))) errs.error('sidecar: ports on IP bound listeners must be unique');
        ports.add(num(port.number));
      }
    }
    const hosts = strs(e.hosts);
    if (hosts.length === 0) {
      errs.error('sidecar: egress listener must contain at least one host');
      return;
    }
    const seen = new Map<string, Set<string>>();
    for (const h of hosts) {
      const slash = h.indexOf('/');
      if (slash >= 0) {
        const ns = h.slice(0, slash) === '.' ? namespace : h.slice(0, slash);
        const svc = h.slice(slash + 1);
        const set = seen.get(ns) ?? new Set<string>();
        seen.set(ns, set);
        if (svc !== '*' ? set.has(svc) || set.has('*') : set.size !== 0) {
          errs.warn(`duplicated egress host: ${h}`);
        }
        set.add(svc);
      }
      errs.addErrors(validateNamespaceSlashHost(h, false));
    }
    if (seen.get('*')?.has('*') && seen.size !== 1) errs.warn('`*/*` host select all resources, no other hosts can be added');
  });
  errs.addErrors(validateOutboundTrafficPolicy(obj(spec.outboundTrafficPolicy)));
  return errs;
}

function validateOutboundTrafficPolicy(tp: J | undefined): Issues {
  const errs = new Issues();
  if (!tp) return errs;
  const proxy = obj(tp.egressProxy);
  if (!proxy) return errs;
  if (str(tp.mode) !== 'ALLOW_ANY') return errs.error('sidecar: egress_proxy must be set only with ALLOW_ANY outbound_traffic_policy mode');
  const e = validateFQDN(str(proxy.host));
  if (e) errs.error(e);
  if (!obj(proxy.port)) return errs.error('sidecar: egress_proxy port must be non-nil');
  return errs.addErrors(validateDestination(proxy));
}
