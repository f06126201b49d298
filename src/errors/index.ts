/** The gateway's error codes and the domain error every area throws (see docs/errors.md). */
export { errorCatalogue, isErrorCode, type ErrorCode, type ErrorSpec } from './catalogue.js';
export {
  GatewayError,
  conflict,
  fieldsFromZod,
  invalidField,
  invalidInput,
  notFound,
  type FieldProblem,
} from './gateway-error.js';
